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


# A day's or a time's words depend on nothing but the day or the minute and the language, and
# a page says the same few again and again (a progress page's heatmap labels 84 days): each is
# made once and kept, a few thousand at most. Nothing of anyone's is in them.
_KEPT = 4096


def _date_of(d: dt.date) -> dt.date:
    """The calendar day a date or a datetime names (a datetime's own, in its own zone)."""
    return d.date() if isinstance(d, dt.datetime) else d


@functools.lru_cache(maxsize=_KEPT)
def _day_words(skeleton: str, d: dt.date, language: str) -> str:
    return _skeleton(skeleton, d, language)


def day(d: dt.date, language: str) -> str:
    """A day with its weekday and month: "Tuesday 3 March", "mar, 3 de marzo"."""
    return _day_words("MMMMEEEEd", _date_of(d), language)


def short_day(d: dt.date, language: str) -> str:
    """A weekday and the day of the month: "Tue 3", "mar 3"."""
    return _day_words("EEEd", _date_of(d), language)


def day_of_month(d: dt.date, language: str) -> str:
    """A day and its month: "3 March", "3 de marzo"."""
    return _day_words("MMMMd", _date_of(d), language)


@functools.lru_cache(maxsize=_KEPT)
def _date_words(pattern: str, d: dt.date, language: str) -> str:
    return format_date(d, pattern, locale=locale(language))


def weekday(d: dt.date, language: str, width: Width = "wide") -> str:
    """ "Tuesday" / "martes"; abbreviated: "Tue" / "mar"."""
    return _date_words("EEEE" if width == "wide" else "EEE", _date_of(d), language)


def month(d: dt.date, language: str, width: Width = "wide") -> str:
    """ "March" / "marzo"; abbreviated: "Mar" / "mar"."""
    return _date_words("LLLL" if width == "wide" else "LLL", _date_of(d), language)


@functools.lru_cache(maxsize=_KEPT)
def _minute_words(hour: int, minute: int, language: str) -> str:
    return _skeleton("Hm", dt.time(hour, minute), language)


def time_of_day(at: dt.datetime | dt.time, language: str) -> str:
    """ "14:30" (the 24-hour clock where the language uses it)."""
    return _minute_words(at.hour, at.minute, language)


def moment(at: dt.datetime, timezone: str, language: str) -> str:
    """A moment in someone's own timezone: "Tuesday 3 March, 14:30"."""
    local = at.astimezone(zone(timezone))
    return f"{day(local, language)}, {time_of_day(local, language)}"


def ago(delta: dt.timedelta, language: str) -> str:
    """How long ago: "1 minute ago", "hace 1 minuto" (a positive delta is in the past)."""
    return format_timedelta(-delta, add_direction=True, locale=locale(language))


def number(n: int | float, language: str) -> str:
    """ "12,345" / "12.345"."""
    return _count_words(n, language) if isinstance(n, int) else format_decimal(n, locale=locale(language))


@functools.lru_cache(maxsize=_KEPT)
def _count_words(n: int, language: str) -> str:
    return format_decimal(n, locale=locale(language))
