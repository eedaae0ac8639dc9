"""The OpenAPI document says what the gateway does: schemathesis finds no 5xx and no mismatch.

Every check schemathesis has (status codes, content types, response schemas, valid input
accepted, invalid input refused, Allow on 405, authentication not ignored), over every
operation, with a valid user token and with a bad one. A fixed seed and a bounded number of
examples keep it to seconds; ``make faults`` (R4) runs the same with more examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from euglena_devkit.faults.schema import fuzz_api
from euglena_devkit.local_gateway import RunningGateway

EXAMPLES, SEED = 8, 20261201


@pytest.mark.timeout(300)
@pytest.mark.parametrize("token", ["valid", "invalid"])
async def test_schemathesis_finds_no_server_error_and_no_mismatch(
    gateway: RunningGateway, tmp_path: Path, token: str
) -> None:
    user = await gateway.create_user(daily_tick_limit=1_000_000)
    bearer = gateway.token(user) if token == "valid" else "not-a-token"
    report = await fuzz_api(gateway.url, bearer, examples=EXAMPLES, seed=SEED, work_dir=tmp_path)
    assert report.generated > 0, report.output
    assert (report.server_errors, report.mismatches) == (0, 0), report.output[-6000:]
