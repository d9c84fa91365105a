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

from server import formats, i18n
from server.i18n import N_

STYLES = ("assertive", "passive", "passive_aggressive", "aggressive")
STYLE_NAMES = {"assertive": N_("Assertive"), "passive": N_("Passive"),
               "passive_aggressive": N_("Passive-aggressive"), "aggressive": N_("Aggressive")}
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
    label: str = ""  # its day as the reader says it: "3 March", "3 de marzo"

    @property
    def total(self) -> int:
        return sum(self.votes.values())


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
    confidence_summary: str    # in the reader's language, as both summaries
    styles_summary: str
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


def _confidence_summary(rounds: Sequence[GrowthRound], language: str) -> str:
    rated = [r for r in rounds if r.before is not None or r.after is not None]
    if not rated:
        return i18n.gettext(language, N_("You have not rated your confidence in a round yet."))
    last = rated[-1]
    if last.before is not None and last.after is not None:
        felt = N_("In your latest rated round, %(day)s, you felt %(before)s of 5 after the first "
                  "try and %(after)s of 5 after the replay.")
    elif last.before is not None:
        felt = N_("In your latest rated round, %(day)s, you felt %(before)s of 5 after the first "
                  "try.")
    else:
        felt = N_("In your latest rated round, %(day)s, you felt %(after)s of 5 after the replay.")
    said = i18n.gettext(language, felt, day=last.label, before=last.before, after=last.after)
    grew = sum(1 for r in rated if r.before is not None and r.after is not None
               and r.after > r.before)
    if grew:
        said += " " + i18n.ngettext(
            "Your confidence grew with the replay in %(grew)s of %(num)s round.",
            "Your confidence grew with the replay in %(grew)s of %(num)s rounds.",
            len(rated), language=language, grew=grew)
    return said


def _styles_summary(rounds: Sequence[GrowthRound], language: str) -> str:
    totals = {s: sum(r.votes.get(s, 0) for r in rounds) for s in STYLES}
    if not sum(totals.values()):
        return i18n.gettext(language, N_("No feedback on the style of your boundaries yet."))
    counts = ", ".join(
        i18n.gettext(language, N_("%(style)s %(count)s"),
                     style=i18n.gettext(language, STYLE_NAMES[s]).lower(), count=n)
        for s, n in totals.items() if n)
    return i18n.ngettext("Across %(num)s round the group heard: %(counts)s.",
                         "Across %(num)s rounds the group heard: %(counts)s.",
                         len(rounds), language=language, counts=counts)


def _level_y(level: int) -> float:
    return TOP + (5 - level) * PLOT / 4


def from_history(history: Iterable[tuple[Any, Any, Sequence[tuple[Any, Any]]]],
                 local_day: Any, language: str = i18n.SOURCE) -> list[GrowthRound]:
    """service.history()'s (round, card, [(feedback, author)]) rows as GrowthRounds, read in
    `language`; local_day turns a stored time into the member's own date."""
    gone = i18n.gettext(language, N_("A card no longer kept"))
    rounds = []
    for number, (rnd, card, feedback) in enumerate(history, start=1):
        votes = {s: 0 for s in STYLES}
        for f, _ in feedback:
            if f.style in votes:
                votes[f.style] += 1
        day = local_day(rnd.created_at)
        rounds.append(GrowthRound(number=number, day=day, label=formats.day_of_month(day, language),
                                  title=card.title if card is not None else gone,
                                  boundary=rnd.boundary, intensity=rnd.intensity,
                                  before=rnd.confidence_before, after=rnd.confidence_after,
                                  votes=votes))
    return rounds


def build(rounds: Sequence[GrowthRound], shown: int = SHOWN,
          language: str = i18n.SOURCE) -> Growth:
    """Columns for the latest `shown` rounds, oldest on the left; both charts share them; the
    summaries in `language`."""
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
        confidence_summary=_confidence_summary(rounds, language),
        styles_summary=_styles_summary(rounds, language),
    )
