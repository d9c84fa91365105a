"""Role-play growth on the progress page: confidence before and after each round, and the
styles the group heard, laid out on the server for two small SVG charts and a table.

Pure: the practitioner's rounds in, positions and words out. No chart library, no inline
style: colours are presentation attributes and classes, so the page's CSP holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

STYLES = ("assertive", "passive", "passive_aggressive", "aggressive")
STYLE_NAMES = {"assertive": "Assertive", "passive": "Passive",
               "passive_aggressive": "Passive-aggressive", "aggressive": "Aggressive"}
# Presentation attributes, so the charts have their colours before the stylesheet arrives.
FILLS = {"assertive": "#2f6b5a", "passive": "#5d7a91", "passive_aggressive": "#a86b12",
         "aggressive": "#9e3526"}
BEFORE_FILL, AFTER_FILL, LINK = "#ffffff", "#2f6b5a", "#8a9994"
SHOWN = 8   # rounds drawn, so labels stay readable on a phone; the table has them all
MIN_COLUMNS = 6
SCALE = 1.3  # drawn a little larger than its coordinates where the page has room
STEP = 44   # width of one round's column
LEFT, RIGHT, TOP, BOTTOM = 30, 10, 12, 24
PLOT = 120  # height of the plotting area
LEVELS = range(1, 6)


@dataclass(frozen=True)
class GrowthRound:
    """One round as the practitioner lived it."""

    number: int
    day: dt.date
    title: str
    boundary: str
    intensity: int
    before: int | None
    after: int | None
    votes: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.votes.values())

    @property
    def label(self) -> str:
        return f"{self.day.day} {self.day:%B}"


@dataclass(frozen=True)
class Segment:
    style: str
    y: float
    height: float
    fill: str
    count: int


@dataclass(frozen=True)
class Column:
    round: GrowthRound
    x: float  # centre of the column
    before_y: float | None
    after_y: float | None
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class Growth:
    rounds: list[GrowthRound]  # every round, oldest first
    columns: list[Column]      # the ones drawn
    width: int
    height: int
    bar_width: int
    level_ticks: list[tuple[int, float]]
    vote_ticks: list[tuple[int, float]]
    axis_y: float              # the baseline of both charts
    label_y: float
    left: int = LEFT
    right: int = 0             # where the plotting area ends

    @property
    def display_width(self) -> int:
        return round(self.width * SCALE)

    @property
    def display_height(self) -> int:
        return round(self.height * SCALE)

    @property
    def more(self) -> int:
        """Rounds in the table that the charts leave out."""
        return len(self.rounds) - len(self.columns)

    @property
    def confidence_summary(self) -> str:
        rated = [r for r in self.rounds if r.before is not None or r.after is not None]
        if not rated:
            return "You have not rated your confidence in a round yet."
        last = rated[-1]
        parts = []
        if last.before is not None:
            parts.append(f"{last.before} of 5 after the first try")
        if last.after is not None:
            parts.append(f"{last.after} of 5 after the replay")
        grew = sum(1 for r in rated if r.before is not None and r.after is not None
                   and r.after > r.before)
        tail = f" Your confidence grew with the replay in {grew} of {len(rated)} rounds." if grew else ""
        return f"In your latest rated round, {last.label}, you felt {' and '.join(parts)}.{tail}"

    @property
    def styles_summary(self) -> str:
        totals = {s: sum(r.votes.get(s, 0) for r in self.rounds) for s in STYLES}
        all_votes = sum(totals.values())
        if not all_votes:
            return "No feedback on the style of your boundaries yet."
        counts = ", ".join(f"{STYLE_NAMES[s].lower()} {n}" for s, n in totals.items() if n)
        return f"Across {len(self.rounds)} round{'s' if len(self.rounds) != 1 else ''} the group heard: {counts}."


def _level_y(level: int) -> float:
    return TOP + (5 - level) * PLOT / 4


def from_history(history: Iterable[tuple[Any, Any, Sequence[tuple[Any, Any]]]],
                 local_day: Any) -> list[GrowthRound]:
    """service.history()'s (round, card, [(feedback, author)]) rows as GrowthRounds;
    local_day turns a stored time into the member's own date."""
    rounds = []
    for number, (rnd, card, feedback) in enumerate(history, start=1):
        votes = {s: 0 for s in STYLES}
        for f, _ in feedback:
            if f.style in votes:
                votes[f.style] += 1
        rounds.append(GrowthRound(number=number, day=local_day(rnd.created_at),
                                  title=card.title if card is not None else "A card no longer kept",
                                  boundary=rnd.boundary, intensity=rnd.intensity,
                                  before=rnd.confidence_before, after=rnd.confidence_after,
                                  votes=votes))
    return rounds


def build(rounds: Sequence[GrowthRound], shown: int = SHOWN) -> Growth:
    """Columns for the latest `shown` rounds, oldest on the left; both charts share them."""
    drawn = list(rounds)[-shown:]
    most = max([r.total for r in drawn] + [4])
    most += most % 2  # even, so the middle tick is a whole number
    scale = PLOT / most
    bar = STEP - 18
    baseline = TOP + PLOT
    columns = []
    for i, r in enumerate(drawn):
        x = LEFT + STEP * i + STEP / 2
        segments: list[Segment] = []
        top = float(baseline)
        for style in STYLES:
            n = r.votes.get(style, 0)
            if n:
                top -= n * scale
                segments.append(Segment(style, round(top, 1), round(n * scale, 1), FILLS[style], n))
        columns.append(Column(
            round=r, x=x, segments=segments,
            before_y=_level_y(r.before) if r.before is not None else None,
            after_y=_level_y(r.after) if r.after is not None else None))
    width = LEFT + STEP * max(len(drawn), MIN_COLUMNS) + RIGHT
    return Growth(
        rounds=list(rounds), columns=columns, width=width, height=TOP + PLOT + BOTTOM,
        bar_width=bar,
        level_ticks=[(level, _level_y(level)) for level in LEVELS],
        vote_ticks=[(n, baseline - n * scale) for n in (0, most // 2, most)],
        axis_y=baseline, label_y=baseline + 17, right=width - RIGHT,
    )
