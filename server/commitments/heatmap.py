"""The progress heatmap: a calendar of practice days, laid out on the server for an SVG.

Pure: days in, cells with positions and words out. The colours mark what went well
(done, partly); a day with no check-in is simply blank, never marked as a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

WEEKS = 12
CELL = 14
GAP = 3
LEFT = 30  # room for weekday names
TOP = 18  # room for month names
LEVELS = ("none", "partly", "done", "done-many")
# Presentation attributes, so the map has its colours even before the stylesheet arrives.
FILLS = {"none": "#e3e8e5", "partly": "#a7d3bb", "done": "#3f8f69", "done-many": "#1e5a41"}
LEGEND = {"none": "No check-in", "partly": "Partly", "done": "Done",
          "done-many": "Done, two or more"}


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

    @property
    def summary(self) -> str:
        if not self.total or self.first is None or self.last is None:
            return "No days to show yet."
        span = (f"{self.first:%A} {self.first.day} {self.first:%B} to "
                f"{self.last:%A} {self.last.day} {self.last:%B}")
        if not self.practised:
            return f"No check-ins marked done or partly yet, from {span}. Your first will show here."
        return f"You practised on {self.practised} of the {self.total} days from {span}."


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


def label(counts: DayCounts) -> str:
    when = f"{counts.day:%A} {counts.day.day} {counts.day:%B}"
    parts = [f"{n} {word}" for n, word in ((counts.done, "done"), (counts.partly, "partly"),
                                            (counts.not_today, "not today")) if n]
    return f"{when}: {', '.join(parts)}" if parts else f"{when}: no check-ins"


def build(days: Sequence[DayCounts]) -> Heatmap:
    """Columns are weeks (Monday at the top), oldest on the left."""
    days = sorted(days, key=lambda d: d.day)
    if not days:
        return Heatmap([], [], [], LEFT, TOP, 0, 0, None, None)
    first_monday = days[0].day - dt.timedelta(days=days[0].day.weekday())
    step = CELL + GAP
    cells: list[Cell] = []
    months: list[tuple[int, str]] = []
    for counts in days:
        column = (counts.day - first_monday).days // 7
        x, y = LEFT + column * step, TOP + counts.day.weekday() * step
        lvl = level(counts)
        cells.append(Cell(counts.day, x, y, lvl, FILLS[lvl], label(counts)))
        if counts.day.day == 1 or counts is days[0]:
            if not months or months[-1][0] < x - 2 * step:  # keep names from overlapping
                months.append((x, f"{counts.day:%b}"))
            elif counts.day.day == 1:
                months[-1] = (x, f"{counts.day:%b}")
    columns = (days[-1].day - first_monday).days // 7 + 1
    weekdays = [(TOP + row * step + CELL - 3, name) for row, name in ((0, "Mon"), (2, "Wed"),
                                                                      (4, "Fri"))]
    return Heatmap(
        cells=cells, months=months, weekdays=weekdays,
        width=LEFT + columns * step, height=TOP + 7 * step,
        practised=sum(1 for d in days if d.done + d.partly > 0), total=len(days),
        first=days[0].day, last=days[-1].day,
    )
