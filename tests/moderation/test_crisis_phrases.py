"""The crisis phrase list (server/data/crisis_phrases.json): lines that must bring help to
their writer, direct and indirect, in English and Spanish, and everyday lines that must not."""

from __future__ import annotations

import pytest

from server.moderation import crisis

MUST = [
    # direct
    "I want to die", "sometimes I think about killing myself", "I've been self-harming",
    "quiero morirme", "No quiero vivir así", "no puedo más",
    # indirect
    "I don't see the point anymore", "honestly I don't see the point in anything",
    "I want to disappear", "I wish I could disappear", "I wish I wasn't here",
    "everyone would be better off without me", "I'm just a burden", "I can't do this anymore",
    "I'm tired of living", "there's no way out", "nobody would miss me",
    "ya no le veo sentido", "no le veo sentido a nada", "quiero desaparecer",
    "todos estarían mejor sin mí", "soy una carga", "no aguanto más", "estoy cansada de vivir",
]
MUST_NOT = [
    "I killed it at the gym today", "This diet is killing me, haha", "therapist at noon",
    "Dead tired but happy", "skill myself up", "Mi madre me mata de risa",
    "I see the point of resting now", "no point arguing about dinner", "the magician made it disappear",
    "I'm dying to see that film", "a burden shared is a burden halved", "tengo sentido del humor",
    "desaparecer un finde a la montaña suena bien", "I can do this", "a way out of the maze",
]


@pytest.mark.parametrize("words", MUST)
def test_these_bring_help(words):
    assert crisis.detect(words), words


@pytest.mark.parametrize("words", MUST_NOT)
def test_everyday_words_do_not(words):
    assert not crisis.detect(words), words
