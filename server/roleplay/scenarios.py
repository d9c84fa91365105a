"""The built-in scenario cards: real situations from codependency recovery.

Each card has the situation, the counterpart's opening line, and how the counterpart
answers the boundary at each intensity: 1 cooperative, 2 pushes back with guilt,
3 escalates. The counterpart plays it; the practitioner practises holding steady.

The cards of each language are a data file of their own, server/data/scenarios.<code>.json,
written for that language's readers rather than word for word; a card's key is the same in
every language. Adding a language's cards is adding its file; a language without one reads
the English cards. Each file is read once, the first time its language is asked for.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from server.i18n import SOURCE

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    situation: str
    opening_line: str
    intensities: tuple[str, str, str]


def path_of(language: str) -> Path:
    return DATA / f"scenarios.{language}.json"


@functools.cache
def _read(language: str) -> tuple[Card, ...] | None:
    path = path_of(language)
    if not language.isalpha() or not path.is_file():
        return None
    cards = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        first, second, third = item["intensities"]
        cards.append(Card(item["key"], item["title"], item["situation"], item["opening_line"],
                          (first, second, third)))
    return tuple(cards)


def cards(language: str = SOURCE) -> tuple[Card, ...]:
    """The built-in cards in a language: its own file, else the English cards."""
    found = _read(language)
    return found if found is not None else cards_in_source()


def cards_in_source() -> tuple[Card, ...]:
    found = _read(SOURCE)
    assert found is not None, f"{path_of(SOURCE)} is missing"
    return found


@functools.cache
def _by_key(language: str) -> dict[str, Card]:
    return {card.key: card for card in cards(language)}


def card(key: str, language: str) -> Card | None:
    """The built-in card with this key in a language (English where the language has no file,
    or its file lacks the card); None for a key Cairn no longer has."""
    return _by_key(language).get(key) or _by_key(SOURCE).get(key)


# The cards as Cairn stores them (in English; each reader's language is looked up by key).
CARDS: tuple[Card, ...] = cards_in_source()
