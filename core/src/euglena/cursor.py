"""The keyset cursor of task listings: a position ``(created_at, correlation_id)``.

It is written ``<microseconds since the epoch>.<uuid>`` so that every string matching
:data:`CURSOR_PATTERN` is a position a listing can continue from: the API documents the
pattern, and a cursor a client did not get from the API is either refused by it or simply a
place in the list, never an error halfway.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_PATTERN = f"^{_UUID}$"
CURSOR_PATTERN = rf"^[0-9]{{1,16}}\.{_UUID}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, correlation_id: uuid.UUID) -> str:
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{correlation_id}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises ValueError for a string that does not match :data:`CURSOR_PATTERN`."""
    if not _CURSOR.fullmatch(cursor):
        raise ValueError("not a cursor")
    micros, _, cid = cursor.partition(".")
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(cid)
