"""The current time, and a member's local day. One place, so tests can move time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + _offset


def local_today(timezone: str, at: dt.datetime | None = None) -> dt.date:
    return (at or now()).astimezone(zone(timezone)).date()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_timezone(name: str) -> bool:
    return name in _timezones()


_cache: set[str] = set()


def _timezones() -> set[str]:
    if not _cache:
        # Region/City names and UTC; not the system's aliases such as "localtime".
        _cache.update(name for name in available_timezones()
                      if "/" in name and not name.startswith(("posix/", "right/")))
        _cache.add("UTC")
    return _cache


def travel(offset: dt.timedelta) -> None:
    """Shift the clock (tests and demos only)."""
    global _offset
    _offset = offset
