"""Dates, times, weekdays, durations and numbers as a reader of a language says them.

Babel's locale data (CLDR) decides the words and their order, so a new language needs no
table here. Cairn's English is British English ("Tuesday 3 March", "14:30").
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Literal

from babel import Locale
from babel.dates import DateTimePattern, format_date, format_datetime, format_timedelta, match_skeleton
from babel.numbers import format_decimal

from server.clock import zone

# The locale whose data a language's dates and numbers follow, where it is not the language's
# own code.
_LOCALE_OF = {"en": "en_GB"}

Width = Literal["wide", "abbreviated"]


@functools.cache
def locale(language: str) -> Locale:
    return Locale.parse(_LOCALE_OF.get(language, language))


@functools.cache
def _pattern(skeleton: str, language: str) -> DateTimePattern:
    """The language's pattern for a skeleton, found once (matching one is the slow part of
    Babel's format_skeleton)."""
    patterns = locale(language).datetime_skeletons
    found: DateTimePattern = patterns[skeleton if skeleton in patterns
                                      else match_skeleton(skeleton, patterns)]
    return found


def _skeleton(skeleton: str, value: dt.date | dt.time, language: str) -> str:
    return format_datetime(value, _pattern(skeleton, language), locale=locale(language))  # type: ignore[arg-type]


def day(d: dt.date, language: str) -> str:
    """A day with its weekday and month: "Tuesday 3 March", "mar, 3 de marzo"."""
    return _skeleton("MMMMEEEEd", d, language)


def short_day(d: dt.date, language: str) -> str:
    """A weekday and the day of the month: "Tue 3", "mar 3"."""
    return _skeleton("EEEd", d, language)


def day_of_month(d: dt.date, language: str) -> str:
    """A day and its month: "3 March", "3 de marzo"."""
    return _skeleton("MMMMd", d, language)


def weekday(d: dt.date, language: str, width: Width = "wide") -> str:
    """ "Tuesday" / "martes"; abbreviated: "Tue" / "mar"."""
    return format_date(d, "EEEE" if width == "wide" else "EEE", locale=locale(language))


def month(d: dt.date, language: str, width: Width = "wide") -> str:
    """ "March" / "marzo"; abbreviated: "Mar" / "mar"."""
    return format_date(d, "LLLL" if width == "wide" else "LLL", locale=locale(language))


def time_of_day(at: dt.datetime | dt.time, language: str) -> str:
    """ "14:30" (the 24-hour clock where the language uses it)."""
    return _skeleton("Hm", at, language)


def moment(at: dt.datetime, timezone: str, language: str) -> str:
    """A moment in someone's own timezone: "Tuesday 3 March, 14:30"."""
    local = at.astimezone(zone(timezone))
    return f"{day(local, language)}, {time_of_day(local, language)}"


def ago(delta: dt.timedelta, language: str) -> str:
    """How long ago: "1 minute ago", "hace 1 minuto" (a positive delta is in the past)."""
    return format_timedelta(-delta, add_direction=True, locale=locale(language))


def number(n: int | float, language: str) -> str:
    """ "12,345" / "12.345"."""
    return format_decimal(n, locale=locale(language))
