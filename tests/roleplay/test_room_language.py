"""A practice room has one language, chosen when it is opened: everyone in it reads the same
scenario card in it, while the page around the card follows each reader's own language. The
built-in cards of each language are a data file of their own; planned sessions open their
rooms in their plan's language."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from server import i18n
from server.db import transaction
from server.main import create_app
from server.models import Room, Scenario, User
from server.practice import service as practice
from server.practice import sessions
from server.roleplay import machine, pages, scenarios, views
from tests.fixtures.clients import Clients, Member, make_settings
from tests.roleplay.test_room_pages import act, frame_of

FIELDS = ("title", "situation", "opening_line")


@pytest.fixture
async def cairn(sqlite_database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(sqlite_database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def spanish_installed() -> Iterator[None]:
    """Spanish in the catalogues rendered with where no request is at hand (a socket's)."""
    before = i18n.installed()
    i18n.install(i18n.load())
    yield
    i18n.install(before)


@pytest.fixture
async def people(cairn: FastAPI) -> AsyncIterator[Clients]:
    made = Clients(cairn)
    yield made
    await made.close()


async def speaks(app: FastAPI, person: Member, language: str) -> None:
    async with transaction(app.state.db) as session:
        await session.execute(update(User).where(User.id == person.id).values(language=language))


async def card_id(app: FastAPI, key: str) -> int:
    async with transaction(app.state.db, write=False) as session:
        found = await session.scalar(select(Scenario.id).where(Scenario.builtin_key == key))
    assert found is not None
    return found


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the cards of each language ----------------------------------------------------------------

def test_every_built_in_card_is_in_spanish_written_anew() -> None:
    english, spanish = scenarios.cards("en"), scenarios.cards("es")
    assert len(english) == len(spanish) == 18
    assert [c.key for c in spanish] == [c.key for c in english]  # keys stay across languages
    for en, es in zip(english, spanish, strict=True):
        for name in FIELDS:
            assert getattr(es, name).strip() and getattr(es, name) != getattr(en, name), (es.key, name)
        assert len(es.intensities) == 3
        for en_line, es_line in zip(en.intensities, es.intensities, strict=True):
            assert es_line.strip() and es_line != en_line, es.key
    # Written for Spanish-speaking families, not word for word.
    assert "compadre" in scenarios.card("money-again", "es").situation
    assert "tía" in scenarios.card("unannounced-visit", "es").title.lower()


def test_a_language_without_its_file_reads_the_english_cards() -> None:
    assert scenarios.cards("pt") == scenarios.cards("en") == scenarios.CARDS
    assert scenarios.card("guilt-trip", "pt") == scenarios.card("guilt-trip", "en")
    assert scenarios.card("no-such-card", "es") is None
    # Each file is read once.
    assert scenarios.cards("es") is scenarios.cards("es")


# --- a room in Spanish -------------------------------------------------------------------------

async def test_a_room_opened_in_spanish_shows_its_spanish_card_to_everyone_in_their_own_chrome(
        cairn: FastAPI, people: Clients) -> None:
    mod, prac, counter = (await people.member("Mora"), await people.member("Pilar"),
                          await people.member("Cole"))
    gid = (await people.group(mod, prac, counter))["id"]
    await speaks(cairn, mod, "es")
    await speaks(cairn, prac, "es")  # the counterpart reads English
    # Opened by a Spanish moderator: the room is Spanish unless another language is chosen.
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"title": "Martes"})
    assert r.status_code == 201, r.text
    rid = r.json()["room_id"]
    assert r.json()["language"] == "es"
    for person in (mod, prac, counter):
        await act(cairn, person, rid, "join")
    await act(cairn, mod, rid, "assign_role", user_id=prac.id, role="practitioner")
    await act(cairn, mod, rid, "assign_role", user_id=counter.id, role="counterpart")
    await act(cairn, mod, rid, "advance")
    await act(cairn, prac, rid, "choose_scenario", scenario_id=await card_id(cairn, "guilt-trip"),
              intensity=2)
    await act(cairn, prac, rid, "state_boundary", text="Este domingo descanso.")
    await act(cairn, mod, rid, "advance")  # the rehearsal

    card = scenarios.card("guilt-trip", "es")
    english = scenarios.card("guilt-trip", "en")
    url = f"/groups/{gid}/rooms/{rid}"
    practitioner = (await prac.get(url)).text
    counterpart = (await counter.get(url)).text
    for page in (practitioner, counterpart):
        assert card.title in page and card.situation in page and card.opening_line in page
        assert english.title not in page and english.opening_line not in page
    # Only the counterpart (and the moderators) read the answer to play, in the room's language.
    assert card.intensities[1] in counterpart and card.intensities[1] not in practitioner
    # The page around the card follows each reader.
    assert '<html lang="es">' in practitioner and '<html lang="en">' in counterpart
    assert ">Ensayo<" in practitioner and "Un momento tranquilo para prepararse" in practitioner
    assert ">Rehearsal<" in counterpart and "A quiet moment to prepare" in counterpart
    assert "Everyone has a quiet moment to prepare." in counterpart
    assert "Todas las personas tienen un momento tranquilo para prepararse." in practitioner
    # The card says its language where the page reads another.
    assert f'<span id="card-title" lang="es">{card.title}</span>' in counterpart
    assert f'<span id="card-title">{card.title}</span>' in practitioner
    # The JSON view is the same card for everyone, and says the room's language.
    frame = frame_of(counterpart)
    assert frame["language"] == "es" and frame["scenario"]["title"] == card.title


async def test_a_room_opened_in_a_chosen_language_and_an_unknown_language_refused(
        cairn: FastAPI, people: Clients) -> None:
    mod, member = await people.member("Mora"), await people.member("Pilar")
    gid = (await people.group(mod, member))["id"]
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"language": "xx"})
    assert r.status_code == 422
    assert r.json() == {"error": "invalid_language",
                        "detail": "Choose one of the languages Cairn speaks."}
    # An English moderator opens a room in Spanish.
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {"language": "es"})
    assert r.status_code == 201 and r.json()["language"] == "es"
    # Its title, when none is given, is in the room's language.
    assert r.json()["title"] == "Práctica de límites"


async def test_an_english_room_reads_as_it_always_did(cairn: FastAPI, people: Clients) -> None:
    mod, member = await people.member("Mora"), await people.member("Pilar")
    gid = (await people.group(mod, member))["id"]
    r = await mod.post(f"/api/v1/groups/{gid}/roleplays", {})
    assert r.status_code == 201 and r.json()["language"] == "en"
    assert r.json()["title"] == "Boundary practice"
    page = (await member.get(f"/groups/{gid}/rooms/{r.json()['room_id']}")).text
    assert '<html lang="en">' in page and ">Gathering<" in page
    # No part of the room is marked Spanish (the footer's switch names "Español" in Spanish).
    room = page.split('<main', 1)[1].split('</main>', 1)[0]
    assert "Welcome to the practice room" in room and 'lang="es"' not in room


# --- live frames in each reader's language -----------------------------------------------------

CARD = views.Card(9, True, "El chantaje de la culpa", "Tu mamá te llama.", "¿No puedes?",
                  ("Bueno.", "Está bien.", "Qué egoísmo."))


def paused_view() -> views.RoomView:
    t0 = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)
    s = machine.new_state(t0)
    for uid, name, moderator in ((1, "Mo", True), (2, "Pilar", False), (3, "Cas", False)):
        s, _ = machine.apply(s, machine.Actor(uid, name, moderator),
                             machine.command_of({"type": "join"}), t0)
    mo = machine.Actor(1, "Mo", True)
    for command in ({"type": "assign_role", "user_id": 2, "role": "practitioner"},
                    {"type": "assign_role", "user_id": 3, "role": "counterpart"},
                    {"type": "advance"}):
        s, _ = machine.apply(s, mo, machine.command_of(command), t0)
    s, _ = machine.apply(s, machine.Actor(2, "Pilar", False), machine.command_of(
        {"type": "choose_scenario", "scenario_id": 9, "intensity": 1}), t0, scenario_ids={9})
    s, _ = machine.apply(s, machine.Actor(3, "Cas", False), machine.command_of({"type": "time_out"}),
                         t0)
    return views.RoomView(7, 1, "Martes", 5, s, CARD, (), None, "Círculo", language="es")


def swapped(view: views.RoomView, viewer: int, language: str) -> str:
    page = pages.page_of(view, viewer, False, live=True, language=language)
    out, _ = pages.swaps(page, None, view.drawn, language)
    return " ".join(x["html"] for x in out)


def test_the_rooms_live_parts_are_drawn_in_each_readers_language(spanish_installed: None) -> None:
    view = paused_view()
    # Two readers of one version, sharing what is drawn once: each reads their own language.
    spanish, english = swapped(view, 2, "es"), swapped(view, 3, "en")
    assert ">Pausa<" in spanish and "La sala está en pausa" in spanish
    assert "Tómate el tiempo que necesites." in spanish
    assert ">Time-out<" in english and "The room is paused" in english
    assert "The room is paused" not in spanish and "La sala está en pausa" not in english
    # The one who called the time-out reads the grounding steps, in their language.
    assert "Siente tus pies." in swapped(view, 3, "es") and "Feel your feet." in english
    # The card is the room's, whatever the reader's language.
    assert "El chantaje de la culpa" in spanish and "El chantaje de la culpa" in english
    # The frame's sentence of whose turn it is, too.
    frame = views.project(view, 2, False, language="es")
    assert frame["turn"] == ("Tómate el tiempo que necesites. Una persona moderadora reanuda "
                             "cuando todas las personas estén listas.")
    assert views.project(view, 2, False)["turn"].startswith("Take the time you need.")


def test_whose_turn_it_is_names_people_in_a_whole_sentence(spanish_installed: None) -> None:
    s = paused_view().state
    s.phase, s.paused = machine.Phase.SETUP, None
    assert views.turn(s, 3, "es") == "Pilar está escribiendo el límite; la tarjeta ya está elegida."
    assert views.turn(s, 2, "es") == "Estás escribiendo el límite; la tarjeta ya está elegida."
    assert views.turn(s, 3) == "Pilar is writing the boundary; the card is chosen."
    assert views.turn(s, 2) == "You are writing the boundary; the card is chosen."


def test_the_held_cheers_count_is_a_plural(spanish_installed: None) -> None:
    view = paused_view()
    s = view.state
    s.phase, s.paused = machine.Phase.SCENE, None
    for held, text in ((1, "1 guardado hasta ahora."), (2, "2 guardados hasta ahora.")):
        s.cheers = {"proud": held}
        view.drawn.clear()
        assert text in swapped(view, 1, "es")
    view.drawn.clear()
    assert "2 held so far." in swapped(view, 1, "en")


def test_a_refused_room_command_is_said_in_the_senders_language(spanish_installed: None) -> None:
    gettext = i18n.installed().for_language("es").gettext
    refused = machine.NotAllowed(machine.MOVED_ON)
    assert refused.said(gettext) == "Eso ya no está disponible. La sala ya siguió adelante."
    assert refused.detail == "That is not open any more. The room has moved on."
    with pytest.raises(machine.Invalid) as caught:
        machine.command_of({"type": "say", "text": " "})
    assert caught.value.said(gettext) == "Escribe algo en text, por favor."
    assert caught.value.detail == "Please write something for text."


# --- planned practice in Spanish ---------------------------------------------------------------

async def test_a_planned_session_opens_its_room_in_its_planners_language(
        cairn: FastAPI, people: Clients) -> None:
    planner, member = await people.member("Mora"), await people.member("Pilar")
    gid = (await people.group(planner, member))["id"]
    await speaks(cairn, planner, "es")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    r = await planner.post(f"/api/v1/groups/{gid}/practice-plans", {
        "starts": start.strftime("%H:%M"), "on_date": start.date().isoformat(), "zone": "UTC"})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Sesión de práctica"  # no title given: named in its language
    opened_at = start.replace(second=0, microsecond=0)
    assert await sessions.run_due(cairn.state.db, opened_at) == (1, 0)
    async with transaction(cairn.state.db, write=False) as session:
        room = await session.scalar(select(Room).where(Room.group_id == gid))
    assert room is not None and room.language == "es" and room.title == "Sesión de práctica"


async def test_the_practice_page_and_its_feed_read_in_spanish(cairn: FastAPI, people: Clients) -> None:
    planner, member = await people.member("Mora"), await people.member("Pilar")
    gid = (await people.group(planner, member))["id"]
    await speaks(cairn, planner, "es")
    r = await planner.post(f"/api/v1/groups/{gid}/practice-plans", {
        "title": "Jueves de límites", "starts": "18:30", "weekday": 3, "zone": "Europe/Berlin"})
    assert r.status_code == 201, r.text
    page = words((await planner.get(f"/groups/{gid}/practice")).text)
    assert "Práctica planeada" in page and "Cada jueves, 18:30 (Europe/Berlin), 60 min" in page
    assert "Un grupo puede tener hasta 20 sesiones planeadas." in page
    assert "Lunes" in page or "lunes" in page  # the form's weekdays
    english = words((await member.get(f"/groups/{gid}/practice")).text)
    assert "Every Thursday, 18:30 (Europe/Berlin), 60 min" in english
    assert "A group keeps up to" not in english  # the form is the moderators'
    # The practice line on the group's day, in each reader's language.
    assert "Próxima práctica:" in words((await planner.get(f"/groups/{gid}")).text)
    assert "Next practice:" in words((await member.get(f"/groups/{gid}")).text)
    # An error, in the planner's language.
    r = await planner.post(f"/api/v1/groups/{gid}/practice-plans", {
        "starts": "18:30", "on_date": "2020-01-02", "zone": "UTC"})
    assert r.status_code == 422
    assert r.json()["detail"] == "Esa fecha ya pasó. Elige hoy o un día posterior."
    # The calendar's neutral titles, in the feed's owner's language.
    async with transaction(cairn.state.db) as session:
        user = await session.get(User, planner.id)
        assert user is not None
        token = await practice.make_feed(session, user, False)
    feed = (await people.anonymous().get(f"/calendar/{token}.ics")).text
    assert "SUMMARY:Práctica de Cairn" in feed and "Cairn practice" not in feed


def test_the_room_frame_is_json_with_the_rooms_language() -> None:
    frame = views.project(paused_view(), 2, False)
    assert json.loads(json.dumps(frame))["language"] == "es"
