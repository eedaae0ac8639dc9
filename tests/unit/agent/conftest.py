from collections.abc import AsyncIterator

import pytest
from agent_doubles import WRITERS


@pytest.fixture(autouse=True)
async def _memory_writers_closed() -> AsyncIterator[None]:
    """Stop the background task of every memory writer a test started."""
    yield
    while WRITERS:
        await WRITERS.pop().close(timeout=1)
