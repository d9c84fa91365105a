"""The progress heatmap: a calendar of practice days, laid out on the server for an SVG.

Pure: days in, cells with positions and words out. The colours mark what went well
(done, partly); a day with no check-in is simply blank, never marked as a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from server import formats, i18n
from server.i18n import N_

WEEKS = 12
CELL = 14
GAP = 3
LEFT = 30  # room for weekday names
TOP = 18  # room for month names
LEVELS = ("none", "partly", "done", "done-many")
# Presentation attributes, so the map has its colours even before the stylesheet arrives.
FILLS = {"none": "#e3e8e5", "partly": "#a7d3bb", "done": "#3f8f69", "done-many": "#1e5a41"}
# Said in the reader's language where they are shown.
LEGEND = {"none": N_("No check-in"), "partly": N_("Partly"), "done": N_("Done"),
          "done-many": N_("Done, two or more")}


class DayCounts(Protocol):
    day: dt.date
    done: int
    partly: int
    not_today: int


@dataclass(frozen=True)
class Cell:
    day: dt.date
    x: int
    y: int
    level: str
    fill: str
    label: str


@dataclass(frozen=True)
class Heatmap:
    cells: list[Cell]
    months: list[tuple[int, str]]  # (x, month name) where a month begins
    weekdays: list[tuple[int, str]]  # (y, weekday name) for a few rows
    width: int
    height: int
    practised: int
    total: int
    first: dt.date | None
    last: dt.date | None
    language: str = i18n.SOURCE

    @property
    def summary(self) -> str:
        words = i18n.installed().for_language(self.language)
        if not self.total or self.first is None or self.last is None:
            return words.gettext(N_("No days to show yet."))
        span = {"first": formats.day(self.first, self.language),
                "last": formats.day(self.last, self.language)}
        if not self.practised:
            return words.gettext(N_("No check-ins marked done or partly yet, from %(first)s to "
                                    "%(last)s. Your first will show here.")) % span
        return words.ngettext(
            "You practised on %(practised)s of the %(total)s day from %(first)s to %(last)s.",
            "You practised on %(practised)s of the %(total)s days from %(first)s to %(last)s.",
            self.total) % {**span, "practised": formats.number(self.practised, self.language),
                           "total": formats.number(self.total, self.language)}


def span(today: dt.date, weeks: int = WEEKS) -> int:
    """How many days to load so the map starts on a Monday and ends today."""
    first = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    return (today - first).days + 1


def level(counts: DayCounts) -> str:
    if counts.done >= 2:
        return "done-many"
    if counts.done:
        return "done"
    if counts.partly:
        return "partly"
    return "none"


def label(counts: DayCounts, language: str = i18n.SOURCE) -> str:
    """ "Thursday 13 March: 2 done, 1 not today", in `language`."""
    words = i18n.installed().for_language(language)
    when = formats.day(counts.day, language)
    parts = [words.ngettext("%(count)s done", "%(count)s done", counts.done),
             words.ngettext("%(count)s partly", "%(count)s partly", counts.partly),
             words.ngettext("%(count)s not today", "%(count)s not today", counts.not_today)]
    said = [part % {"count": formats.number(n, language)}
            for part, n in zip(parts, (counts.done, counts.partly, counts.not_today), strict=True)
            if n]
    if not said:
        return words.gettext(N_("%(day)s: no check-ins")) % {"day": when}
    return words.gettext(N_("%(day)s: %(counts)s")) % {
        "day": when, "counts": ", ".join(said)}


def build(days: Sequence[DayCounts], language: str = i18n.SOURCE) -> Heatmap:
    """Columns are weeks (Monday at the top), oldest on the left; its words in `language`."""
    days = sorted(days, key=lambda d: d.day)
    if not days:
        return Heatmap([], [], [], LEFT, TOP, 0, 0, None, None, language)
    first_monday = days[0].day - dt.timedelta(days=days[0].day.weekday())
    step = CELL + GAP
    cells: list[Cell] = []
    months: list[tuple[int, str]] = []
    for counts in days:
        column = (counts.day - first_monday).days // 7
        x, y = LEFT + column * step, TOP + counts.day.weekday() * step
        lvl = level(counts)
        cells.append(Cell(counts.day, x, y, lvl, FILLS[lvl], label(counts, language)))
        if counts.day.day == 1 or counts is days[0]:
            name = formats.month(counts.day, language, "abbreviated")
            if not months or months[-1][0] < x - 2 * step:  # keep names from overlapping
                months.append((x, name))
            elif counts.day.day == 1:
                months[-1] = (x, name)
    columns = (days[-1].day - first_monday).days // 7 + 1
    # Monday, Wednesday and Friday of the first week.
    weekdays = [(TOP + row * step + CELL - 3,
                 formats.weekday(first_monday + dt.timedelta(days=row), language, "abbreviated"))
                for row in (0, 2, 4)]
    return Heatmap(
        cells=cells, months=months, weekdays=weekdays,
        width=LEFT + columns * step, height=TOP + 7 * step,
        practised=sum(1 for d in days if d.done + d.partly > 0), total=len(days),
        first=days[0].day, last=days[-1].day, language=language,
    )
