"""The crisis phrase list (server/data/crisis_phrases.json): lines that must bring help to
their writer, direct and indirect, in English and Spanish, and everyday lines (idioms such as
"me muero de risa" or "este trabajo me mata") that must not. Every language's phrases are
checked whatever the writer's own language (tests/test_language.py)."""

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
    # Spanish, direct
    "Quiero morirme", "me quiero morir", "a veces pienso en matarme", "tengo pensamientos suicidas",
    "quiero quitarme la vida", "quiero hacerme daño", "me estoy haciendo daño otra vez",
    "pienso en cortarme", "pensé en cortarme las venas", "estaría mejor muerta",
    "no quiero despertar mañana", "ya no puedo más", "tengo ganas de morirme",
    "quiero acabar con todo", "mi pareja me va a matar", "no estoy a salvo en casa",
    "quiero dejar de existir",
    # Spanish, indirect
    "no quiero seguir aquí", "mejor desaparecer", "sería mejor desaparecer", "quisiera desaparecer",
    "ya no aguanto más", "nada tiene sentido ya", "la vida no tiene sentido",
    "no vale la pena vivir", "ojalá no hubiera nacido", "ojalá pudiera desaparecer",
    "mi familia estaría mejor sin mí", "nadie me extrañaría", "nadie notaría si desaparezco",
    "no le veo salida", "estoy harto de vivir",
    # written without accents, in capitals, with curly apostrophes
    "YA NO AGUANTO MAS", "ojala no existiera",
]
MUST_NOT = [
    "I killed it at the gym today", "This diet is killing me, haha", "therapist at noon",
    "Dead tired but happy", "skill myself up", "Mi madre me mata de risa",
    "I see the point of resting now", "no point arguing about dinner", "the magician made it disappear",
    "I'm dying to see that film", "a burden shared is a burden halved", "tengo sentido del humor",
    "desaparecer un finde a la montaña suena bien", "I can do this", "a way out of the maze",
    # Spanish idioms that only sound like danger
    "me muero de risa", "este trabajo me mata", "me muero de ganas de verte", "me muero de hambre",
    "me quiero morir de la vergüenza", "quiero morirme de risa con esa película",
    "no puedo más de la risa", "mañana voy a cortarme el pelo", "quiero cortarme el flequillo",
    "no voy a matarme estudiando", "me mata de risa", "ese chiste me mató",
    "quiero acabar con todo el trabajo hoy", "no quiero seguir con este proyecto",
    "quiero desaparecer de las redes un tiempo", "tengo sentido del humor",
]


@pytest.mark.parametrize("words", MUST)
def test_these_bring_help(words):
    assert crisis.detect(words), words


@pytest.mark.parametrize("words", MUST_NOT)
def test_everyday_words_do_not(words):
    assert not crisis.detect(words), words
