"""One fair "today": whose day a commitment belongs to, and which day of each member's the group's
day shows.

A commitment belongs to its writer's own local date. The group's day a member asks for is a
date in their own calendar, `n` days from their today; it shows each member's own day `n`
days from *their* today. So on the reader's today everyone's own today is shown, whatever
the zones, and a card from a date that is not the reader's is labelled with its writer's
weekday ("Their Tuesday", groups/_day.html), never "Tomorrow". Pure: zones and an instant in, dates out.
"""

from __future__ import annotations

import datetime as dt

from server import clock, formats, i18n
from server.i18n import N_

# Zones lie within 26 hours of each other (UTC-12 to UTC+14): at any instant two members'
# dates are at most two days apart.
SPREAD = 2


def plus(day: dt.date, days: int) -> dt.date | None:
    """`day` moved by `days`, or None past the calendar's ends."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def distance(zone: str, day: dt.date, at: dt.datetime) -> int:
    """How many days `day`, a date in this member's calendar, lies from their today."""
    return (day - clock.local_today(zone, at)).days


def seen_on(day: dt.date, author_zone: str, reader_zone: str, at: dt.datetime) -> dt.date:
    """The date in the reader's calendar whose group's day shows a commitment of its author's
    `day` (a commitment's day lies near its writer's today, so this never leaves the calendar)."""
    return clock.local_today(reader_zone, at) + dt.timedelta(days=distance(author_zone, day, at))


def around(day: dt.date) -> tuple[dt.date, dt.date]:
    """The dates any member's own day can have when a reader's is `day`."""
    return (plus(day, -SPREAD) or dt.date.min, plus(day, SPREAD) or dt.date.max)


def rule(days_from_today: int, language: str = i18n.SOURCE) -> str:
    """The group's day in words, for the line under its title, in `language`."""
    words = i18n.installed().for_language(language)
    if days_from_today == 0:
        return words.gettext(N_("Everyone's own today, wherever they are."))
    if days_from_today == -1:
        return words.gettext(N_("Everyone's own yesterday, wherever they are."))
    if days_from_today == 1:
        return words.gettext(N_("Everyone's own tomorrow, wherever they are."))
    n = abs(days_from_today)
    if days_from_today < 0:
        said = words.ngettext("Each member's own day %(count)s day before their today.",
                              "Each member's own day %(count)s days before their today.", n)
    else:
        said = words.ngettext("Each member's own day %(count)s day after their today.",
                              "Each member's own day %(count)s days after their today.", n)
    return said % {"count": formats.number(n, language)}
