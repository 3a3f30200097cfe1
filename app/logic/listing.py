"""Listing logic: which index partition serves a filter, time bounds, and the opaque cursor.

Reads only; no combination of filters scans the table (see `plan`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app import layout
from app.errors import InvalidInputError
from app.layout import READY
from app.records import ListedImage
from app.settings import get_settings
from app.storage import ImageStore, TimeQuery

SORT_KEY_RE = re.compile(rf"^\d{{13}}#{layout.ID_PATTERN}$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?![\d])")
MAX_MS = 10**13 - 1  # sort keys hold 13 digits of milliseconds


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The position a cursor names; any cursor this service did not make is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not SORT_KEY_RE.fullmatch(raw):
        raise InvalidInputError("cursor is not one this API returned", "INVALID_CURSOR")
    return raw


@dataclass(frozen=True)
class ListFilter:
    """What `GET /list` narrows to; every combination is a Query on one index partition."""

    user: str | None = None
    tag: str | None = None
    name_contains: str | None = None
    start_ms: int | None = None  # inclusive
    end_ms: int | None = None  # inclusive
    newest_first: bool = True
    status: str = READY


def time_bound(value: str, parameter: str, end: bool) -> int:
    """Epoch ms of an ISO-8601 date or date-time (UTC unless it says otherwise), inclusive.

    As an end bound a value covers everything it names: `to=2026-11-23` the
    whole day, `to=2026-11-23T10` the whole hour, `...T10:15:30` that second.
    """
    try:
        moment, span = _parse_moment(value)
    except ValueError:
        day = _DATE_RE.fullmatch(value)
        if day is not None and not _real_date(day):
            raise InvalidInputError(f"{parameter}: {day.group(0)} is not a real date", "INVALID_PARAMETER") from None
        raise InvalidInputError(
            f"{parameter} must be an ISO-8601 date or date-time, e.g. 2026-11-23 or 2026-11-23T13:00:00Z",
            "INVALID_PARAMETER",
        ) from None
    ms = int(moment.timestamp() * 1000)
    return min(max(ms + span - 1 if end else ms, 0), MAX_MS)


def _real_date(day: re.Match[str]) -> bool:
    try:
        date(*(int(part) for part in day.groups()))
    except ValueError:
        return False
    return True


def _parse_moment(value: str) -> tuple[datetime, int]:
    """(the moment a value starts at, how many ms it spans); ValueError when it is not ISO-8601."""
    if "T" not in value.upper() and " " not in value:
        day = date.fromisoformat(value)  # also 20261123 and week dates such as 2026-W47-1
        whole_week = re.fullmatch(r"\d{4}-?W\d{2}", value, re.IGNORECASE) is not None
        return datetime(day.year, day.month, day.day, tzinfo=UTC), 86_400_000 * (7 if whole_week else 1)
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    clock = re.split(r"[Zz+\-]", re.split(r"[Tt ]", value, maxsplit=1)[1], maxsplit=1)[0]
    if "." in clock or "," in clock:
        return moment, 1
    digits = sum(ch.isdigit() for ch in clock)
    return moment, {2: 3_600_000, 4: 60_000}.get(digits, 1000)


def plan(store: ImageStore, wanted: ListFilter) -> list[TimeQuery]:
    """The index partitions that serve a filter, and what is left to filter on them: one for a tag,
    a user, or a user's tag, every shard of the status for all images (merged by the store). Only a
    name is filtered after reading, and only within partitions the filter's user (if any) owns."""
    contains = {"name_search": wanted.name_contains.casefold()} if wanted.name_contains else {}
    table_partition = None
    if wanted.tag is not None and wanted.user is not None:  # the user's items alone: nobody else's are read
        table, index = store.tags_table, layout.BY_USER_TAG_INDEX
        partitions = [("user_tag_status", layout.user_tag_status(wanted.user, wanted.tag, wanted.status))]
        table_partition = ("tag_status", layout.tag_status(wanted.tag, wanted.status))
    elif wanted.tag is not None:
        table, index = store.tags_table, None
        partitions = [("tag_status", layout.tag_status(wanted.tag, wanted.status))]
    elif wanted.user is not None:
        table, index = store.table, layout.BY_USER_INDEX
        partitions = [("user_status", layout.user_status(wanted.user, wanted.status))]
    else:
        table, index = store.table, layout.BY_SHARD_INDEX
        shards = range(get_settings().listing_shards)
        partitions = [("status_shard", layout.status_shard(wanted.status, shard)) for shard in shards]
    low = None if wanted.start_ms is None else f"{wanted.start_ms:013d}"
    high = None if wanted.end_ms is None else f"{wanted.end_ms:013d}#~"  # '~' sorts after every id
    return [TimeQuery(table, index, p, wanted.newest_first, (low, high), contains, table_partition) for p in partitions]


def _check_range(wanted: ListFilter, start: str, end: str) -> None:
    """The time range's bounds in order; `start` and `end` name them as the caller's parameters do."""
    if wanted.start_ms is not None and wanted.end_ms is not None and wanted.start_ms > wanted.end_ms:
        raise InvalidInputError(f"{start} must not be after {end}", "INVALID_PARAMETER")


def list_page(
    store: ImageStore, limit: int, cursor: str | None, wanted: ListFilter | None = None
) -> tuple[list[ListedImage], str | None]:
    """One page of images matching `wanted`, and the cursor of the next page (None on the last)."""
    wanted = wanted or ListFilter()
    _check_range(wanted, "from", "to")
    queries = plan(store, wanted)
    after = decode_cursor(cursor) if cursor is not None else None
    low, high = queries[0].sort_range
    if after is not None and ((low is not None and after < low) or (high is not None and after > high)):
        # DynamoDB refuses a start key outside the key condition; it comes from other filters.
        raise InvalidInputError("cursor does not belong to this from/to range", "INVALID_CURSOR")
    rows, position = store.query_page(queries, limit, after)
    return rows, None if position is None else encode_cursor(position)


@dataclass(frozen=True)
class Window:
    """`GET /v1/images`: a slice, by offset, of one user's ready images in the order asked for."""

    user: str
    name_contains: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    by_name: bool = False  # else by creation time
    descending: bool = True
    offset: int = 0
    limit: int = 20


def user_window(store: ImageStore, window: Window) -> tuple[list[ListedImage], int]:
    """The rows of the slice, and how many images match in all.

    An offset and a total need every matching image: they are read from the
    user's partition of the user index (never a scan), at most
    `max_listing_window` of them; more than that is refused, and GET /list's
    cursors page through any number.
    """
    wanted = ListFilter(
        user=window.user,
        name_contains=window.name_contains,
        start_ms=window.start_ms,
        end_ms=window.end_ms,
        newest_first=window.descending,
    )
    _check_range(wanted, "start_date", "end_date")
    most = get_settings().max_listing_window
    rows, more = store.query_page(plan(store, wanted), most, None)
    if more is not None:
        raise InvalidInputError(
            f"more images match than one request reads ({most}): narrow them with start_date and end_date, "
            "or page through them with GET /list?user=... and its cursor",
            "TOO_MANY_MATCHES",
        )
    if window.by_name:
        rows.sort(key=lambda row: (row.get("name_search", ""), row["sort_key"]), reverse=window.descending)
    return rows[window.offset : window.offset + window.limit], len(rows)
