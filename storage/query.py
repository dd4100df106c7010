"""Filters and keyset pagination shared by every list query.

Lists are newest first, by id (ids sort by creation time). A cursor is the last id
of the previous page, base64url-encoded so clients treat it as opaque; rows inserted
while a client walks the list land before its cursor, so a walk sees every row that
existed when it started exactly once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import TypeVar

from core.ids import first_id
from storage.database import Connection, Row
from storage.errors import InvalidFieldError
from storage.records import Page

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
ID_SLACK_MS = 300_000


class Where:
    """A conjunction of clauses with ``$n`` parameters, built in order."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[object] = []

    def param(self, value: object) -> str:
        """Add ``value`` as the next parameter; its placeholder."""
        self.args.append(value)
        return f"${len(self.args)}"

    def params(self, values: Iterable[object]) -> str:
        """Add each of ``values`` as a parameter; their placeholders, comma-separated
        (for ``IN (…)``)."""
        return ", ".join(self.param(value) for value in values)

    def add(self, template: str, value: object) -> Where:
        """Add ``template`` with ``{}`` standing for ``value``'s placeholder; skip None."""
        if value is not None:
            self.clauses.append(template.format(self.param(value)))
        return self

    def sql(self) -> str:
        """`` WHERE …`` or nothing."""
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def add_time_range(
    where: Where,
    *,
    id_column: str,
    time_column: str,
    prefix: str,
    since: int | None,
    until: int | None,
) -> Where:
    """Keep rows with ``since <= time_column < until`` (unix microseconds, either open).

    The same span also bounds ``id_column``: ids begin with their creation millisecond
    (``core.ids``), so the primary key index reads only the span, newest first, instead
    of filtering every newer row one by one (the planner cannot know that ids and times
    rise together). The id bounds are ``ID_SLACK_MS`` wider than the span, since an id
    is made a moment after its row's time is taken; the time filter stays exact.
    """
    where.add(f"{time_column} >= {{}}", since).add(f"{time_column} < {{}}", until)
    if since is not None:
        where.add(f"{id_column} >= {{}}", first_id(prefix, since // 1000 - ID_SLACK_MS))
    if until is not None:
        where.add(f"{id_column} < {{}}", first_id(prefix, until // 1000 + ID_SLACK_MS))
    return where


def clamp_limit(limit: int | None) -> int:
    """A page size between 1 and ``MAX_LIMIT`` (default ``DEFAULT_LIMIT``)."""
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(last_id: str) -> str:
    """The opaque cursor after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id inside ``cursor``; ``InvalidFieldError`` on ``cursor`` if it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        last_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as e:
        raise InvalidFieldError("cursor", "is not a cursor from this API") from e
    if "_" not in last_id or len(last_id) > 40:
        raise InvalidFieldError("cursor", "is not a cursor from this API")
    return last_id


async def fetch_page(
    conn: Connection,
    select: str,
    where: Where,
    *,
    id_column: str,
    limit: int | None,
    cursor: str | None,
    convert: Callable[[Row], T],
) -> Page[T]:
    """Run ``select`` with ``where`` as one keyset page, newest first."""
    size = clamp_limit(limit)
    if cursor is not None:
        where.add(f"{id_column} < {{}}", decode_cursor(cursor))
    sql = f"{select}{where.sql()} ORDER BY {id_column} DESC LIMIT {size + 1}"
    return to_page(await conn.fetch(sql, *where.args), size, convert)


def to_page(rows: list[Row], size: int, convert: Callable[[Row], T]) -> Page[T]:
    """A page of ``size`` from ``rows``, the query having asked for one row more."""
    items = tuple(convert(row) for row in rows[:size])
    has_more = len(rows) > size
    return Page(items=items, next_cursor=encode_cursor(rows[size - 1]["id"]) if has_more else None)
