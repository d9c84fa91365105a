"""The private feeling trend on a member's own progress page: the 1–5 feeling they noted with
their check-ins, day by day over the last 30 days, laid out on the server for a small SVG.

Pure: feelings by day in, bars and words out. Every bar has the same calm colour: a low day
is a day like any other, never marked as bad, and a day without a feeling is simply blank.
Only its owner ever sees it; nothing here is sent to anyone else.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from babel.lists import format_list

from server import formats, i18n
from server.i18n import N_

DAYS = 30
# The words of each feeling, as the pages say them (web/templates/_labels.html: keep the two
# alike), said in the reader's language.
NAMES = {1: N_("Very low"), 2: N_("Low"), 3: N_("Okay"), 4: N_("Good"), 5: N_("Very good")}
FILL = "#5d7a91"  # a presentation attribute, so the bars have it before the stylesheet
STEP, BAR = 11, 8  # one day's column, and its bar
LEFT, TOP, BOTTOM = 16, 6, 16
PLOT = 60  # the height of a 5
TICKS = (1, 3, 5)


@dataclass(frozen=True)
class Bar:
    day: dt.date
    x: int
    y: float
    height: float
    feeling: float  # the day's average
    label: str


@dataclass(frozen=True)
class Trend:
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, feeling) for the scale on the left
    first: dt.date
    width: int
    height: int
    baseline: float
    noted: int  # days with a feeling
    summary: str
    left: int = LEFT  # where the columns begin, right of the scale
    bar: int = BAR  # a bar's width


def _words(feelings: Sequence[int], language: str) -> str:
    """ "Good and Very good"."""
    words = i18n.installed().for_language(language)
    return format_list([words.gettext(NAMES[f]) for f in feelings], locale=formats.locale(language))


def _name(feeling: int, language: str) -> str:
    """A feeling's name inside a sentence: "very low"."""
    return i18n.gettext(language, NAMES[feeling]).lower()


def _y(feeling: float) -> float:
    return TOP + PLOT - PLOT * feeling / 5


def _summary(by_day: Mapping[dt.date, Sequence[int]], first: dt.date, language: str) -> str:
    words = i18n.installed().for_language(language)
    if not by_day:
        return words.gettext(N_("No feelings noted in the last 30 days. When you check in, you "
                                "can say how you feel; it will show here, for you alone."))
    counts = Counter(f for feelings in by_day.values() for f in feelings)
    top = counts.most_common(2)
    last_day = max(by_day)
    said = {"days": formats.number(len(by_day), language), "total": formats.number(DAYS, language),
            "first": formats.day(first, language), "last": formats.day(last_day, language),
            "recent": _words(by_day[last_day], language).lower()}
    if len(counts) == 1:
        return words.gettext(N_(
            "You noted how you felt on %(days)s of the %(total)s days since %(first)s, each time "
            "%(feeling)s. Most recently, on %(last)s: %(recent)s.")) % {
                **said, "feeling": _name(top[0][0], language)}
    if top[0][1] > top[1][1]:
        return words.gettext(N_(
            "You noted how you felt on %(days)s of the %(total)s days since %(first)s, most "
            "often %(feeling)s. Most recently, on %(last)s: %(recent)s.")) % {
                **said, "feeling": _name(top[0][0], language)}
    return words.gettext(N_(
        "You noted how you felt on %(days)s of the %(total)s days since %(first)s, between "
        "%(low)s and %(high)s. Most recently, on %(last)s: %(recent)s.")) % {
            **said, "low": _name(min(counts), language), "high": _name(max(counts), language)}


def build(today: dt.date, feelings: Sequence[tuple[dt.date, int]],
          language: str = i18n.SOURCE) -> Trend:
    """`feelings`: (day, feeling) of each check-in with one; those outside the 30 days up to
    `today` are left out. Its words in `language`."""
    first = today - dt.timedelta(days=DAYS - 1)
    by_day: dict[dt.date, list[int]] = {}
    for day, feeling in sorted(feelings):
        if first <= day <= today:
            by_day.setdefault(day, []).append(feeling)
    bars = []
    for day, noted in by_day.items():  # in order of days, as they were added
        average = sum(noted) / len(noted)
        y = _y(average)
        bars.append(Bar(day, LEFT + (day - first).days * STEP, round(y, 1),
                        round(TOP + PLOT - y, 1), round(average, 1),
                        i18n.gettext(language, N_("%(day)s: %(feelings)s"),
                                     day=formats.day(day, language),
                                     feelings=_words(noted, language))))
    return Trend(
        bars=bars, ticks=[(round(_y(t), 1), t) for t in TICKS], first=first,
        width=LEFT + DAYS * STEP, height=TOP + PLOT + BOTTOM, baseline=TOP + PLOT,
        noted=len(by_day), summary=_summary(by_day, first, language))
