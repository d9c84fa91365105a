"""The group's day, a card, the invite pages, the groups list and progress, with their forms,
errors and flash messages, read in Spanish by a member who chose it (once Spanish is offered);
plurals follow each language; members' words are marked as theirs; English stays as it was."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from server.db import transaction
from server.main import create_app
from server.models import User
from tests.fixtures.clients import Clients, Member, make_settings
from tests.support import utc
from tests.test_pages import create_group, join, post_commitment, sign_up

# Tuesday 10 March 2026, midday in UTC: everyone here lives in UTC.
NOON = utc(2026, 3, 10, 12, 0)


@pytest.fixture
async def cairn(sqlite_database_url: str) -> AsyncIterator[Clients]:
    application = create_app(make_settings(sqlite_database_url))
    async with application.router.lifespan_context(application):
        made = Clients(application)
        yield made
        await made.close()


async def speaks_spanish(cairn: Clients, user_id: int) -> None:
    async with transaction(cairn.app.state.db) as session:
        await session.execute(update(User).where(User.id == user_id).values(language="es"))


async def user_id_of(cairn: Clients, username: str) -> int:
    async with transaction(cairn.app.state.db) as session:
        found = await session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


async def circle(cairn: Clients) -> tuple[Member, Member, int]:
    """Rosa moderates and reads Spanish; Sam reads English. Their names and the group's are
    what members wrote (escaped, and marked as theirs)."""
    rosa = await cairn.member("rosa", display_name="Rosa")
    sam = await cairn.member("sam", display_name="Sam <b>")
    gid = (await cairn.group(rosa, sam, name="Círculo <i>"))["id"]
    await speaks_spanish(cairn, rosa.id)
    return rosa, sam, gid


def card(html: str, cid: int) -> str:
    return re.search(rf'<li id="entry-{cid}">.*?</article>\n</li>', html, re.S).group(0)


async def test_the_groups_day_reads_in_spanish_and_what_members_wrote_is_marked_as_theirs(
        cairn: Clients, travel) -> None:
    travel(NOON)
    rosa, sam, gid = await circle(cairn)
    r = await sam.post(f"/api/v1/groups/{gid}/commitments",
                       {"category": "water", "text": "Agua <u>primero</u>"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    page = (await rosa.get(f"/groups/{gid}")).text
    assert '<html lang="es">' in page
    for words in (
        "<title>Círculo &lt;i&gt; · Hoy · Cairn</title>",
        '<h1 data-member-words>Círculo &lt;i&gt;</h1>',
        '<h2 id="day-title">Hoy <time class="day-date" datetime="2026-03-10">martes, 10 de marzo de 2026</time></h2>',
        '<time datetime="2026-03-09">lun 9</time>',
        "El hoy de cada persona, dondequiera que esté.",
        "Publica tu compromiso para hoy", '<optgroup label="Cuídate">', '<option value="water">Agua</option>',
        "Compartido en el grupo", "Miembros", "Nuestro acuerdo", "Lo que se comparte aquí se queda aquí.",
        '<span class="name"><span data-member-words>Rosa</span> <span class="small">(tú)</span></span>',
        '<span class="tag">Moderación</span>', 'data-count-text="{n} de 12">2 de 12</span>',
        'data-count-one="{n} reporte abierto" data-count-other="{n} reportes abiertos"',
        "Salir de <span data-member-words>Círculo &lt;i&gt;</span>",
        # The scripts' words come with the page, in its language.
        '"live": "En vivo"', '"copied": "Copiado"', '"date_locale": "es"',
    ):
        assert words in page, words
    mine = card(page, cid)
    for words in (f'<span class="name" id="c{cid}-who" data-member-words>Sam &lt;b&gt;</span>',
                  f'<p class="text" id="c{cid}-text" data-member-words>Agua &lt;u&gt;primero&lt;/u&gt;</p>',
                  '<span class="category">Agua</span>', "Aún sin seguimiento",
                  ">Animar a <span data-member-words>Sam &lt;b&gt;</span></a>",
                  'Reportar<span class="visually-hidden"> este compromiso</span>'):
        assert words in mine, words
    for english in ("Shared in the group", "Post your commitment", "Our agreement", "Not checked in yet",
                    "Encourage", "What is shared here"):
        assert english not in page, english

    # A card's own page, its cheer form open: the cheers' words are Spanish too.
    r = await rosa.get(f"/groups/{gid}/commitments/{cid}?open=encourage")
    assert "<title>Compromiso de Sam &lt;b&gt; · Círculo &lt;i&gt; · Cairn</title>" in r.text
    assert "Volver a <span data-member-words>Círculo &lt;i&gt;</span> · Hoy</a>" in r.text
    assert "Una nota corta" in r.text and "<legend>Envíala con</legend>" in r.text
    assert 'value="proud" class="button button-quiet button-small">¡Qué orgullo!</button>' in r.text

    # Sam reads the same day in English, as it always read.
    english = (await sam.get(f"/groups/{gid}")).text
    assert '<html lang="en">' in english
    for words in ("Everyone&#39;s own today, wherever they are.", "Shared in the group",
                  "Post your commitment for today", "What is shared here stays here.",
                  '<h2 id="day-title">Today <time class="day-date" datetime="2026-03-10">'
                  'Tuesday 10 March 2026</time></h2>',
                  '<time datetime="2026-03-09">Mon 9</time>', '"live": "Live"'):
        assert words in english, words
    assert "Hoy" not in english and "Agua</span>" not in english


async def test_plurals_follow_each_language(cairn: Clients, travel) -> None:
    """An invite code used once, then twice: "usado 1 vez", "usado 2 veces"."""
    travel(NOON)
    rosa, sam, gid = await circle(cairn)
    english_moderator = await cairn.member("ines")
    code = (await rosa.get(f"/api/v1/groups/{gid}")).json()["invite_code"]

    def used(page: str) -> str:
        return re.search(r"·\s+(\S.*?)</span>", page.split(f'data-invite-code="{code}"', 1)[1], re.S).group(1)

    assert used((await rosa.get(f"/groups/{gid}")).text) == "usado 1 vez"
    r = await english_moderator.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True})
    assert r.status_code == 200, r.text
    assert used((await rosa.get(f"/groups/{gid}")).text) == "usado 2 veces"
    assert "3 de 12 miembros" in (await rosa.get("/groups")).text
    async with transaction(cairn.app.state.db) as session:
        await session.execute(update(User).where(User.id == rosa.id).values(language="en"))
    assert used((await rosa.get(f"/groups/{gid}")).text) == "used 2 times"
    assert "3 of 12 members" in (await rosa.get("/groups")).text


async def test_progress_reads_in_spanish_with_its_charts(cairn: Clients, travel) -> None:
    travel(NOON)
    rosa, sam, gid = await circle(cairn)
    r = await rosa.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Siesta"})
    cid = r.json()["id"]
    r = await rosa.post(f"/api/v1/commitments/{cid}/checkin", {"status": "done", "feeling": 4})
    assert r.status_code == 200, r.text
    r = await sam.post(f"/api/v1/groups/{gid}/encouragements",
                       {"kind": "with_you", "commitment_id": cid, "text": "Bravo"})
    assert r.status_code == 201, r.text
    page = (await rosa.get("/me/progress")).text
    assert '<html lang="es">' in page
    for words in (
        "<title>Tu progreso · Cairn</title>", "Días seguidos",
        "Día seguido con algo de práctica, hecha o en parte. Qué bien.", "Últimos 14 días",
        '<span class="stat-of"> de 14</span>',
        # The heatmap: its title, month and weekday names, each day's words and the summary.
        "<title id=\"heatmap-title\">Calendario de práctica, un cuadro por día, semanas de izquierda a derecha</title>",
        'font-size="10">ene</text>', 'font-size="10">feb</text>', 'font-size="10">mar</text>',
        'font-size="10">lun</text>', 'font-size="10">mié</text>', 'font-size="10">vie</text>',
        "<title>mar, 10 de marzo: 1 hecho</title>", "<title>lun, 9 de marzo: sin seguimientos</title>",
        "Practicaste en 1 de los 79 días, del lun, 22 de diciembre al mar, 10 de marzo.",
        "> Sin seguimiento</li>", "> Hecho, dos o más</li>", "> Hoy</li>",
        # How Rosa felt, for her alone.
        "Cómo te sentiste, una columna por día desde el 9 de febrero hasta hoy",
        "Anotaste cómo te sentías en 1 de los 30 días desde el lun, 9 de febrero; cada vez, bien.",
        'font-size="10" class="feelings-label">9 feb</text>', "<li>mar, 10 de marzo: Bien</li>",
        "La escala: 1 muy mal, 2 mal, 3 más o menos, 4 bien, 5 muy bien.",
        # The encouragement she received, and from whom.
        '<p class="kind">Contigo</p>', '<p class="note" data-member-words>Bravo</p>',
        'De <span data-member-words>Sam &lt;b&gt;</span> en <span data-member-words>Círculo &lt;i&gt;</span> · '
        '<time datetime="2026-03-10">martes, 10 de marzo de 2026</time>',
    ):
        assert words in page, words
    for english in ("Your progress", "Days in a row", "No check-in", "How you felt", "With you"):
        assert english not in page, english


async def test_api_errors_and_form_errors_are_said_in_spanish(cairn: Clients, travel) -> None:
    travel(NOON)
    rosa, sam, gid = await circle(cairn)
    for n in range(3):
        r = await rosa.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": f"Paso {n}"})
        assert r.status_code == 201, r.text
    r = await rosa.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "Uno más"})
    assert r.status_code == 409
    assert r.json() == {"error": "daily_limit", "detail": (
        "Ya tienes 3 compromisos para ese día aquí. Tres es suficiente: sé amable contigo.")}
    r = await rosa.post(f"/api/v1/groups/{gid}/commitments",
                        {"category": "rest", "text": "Pasado mañana", "day": "2026-03-12"})
    assert r.json() == {"error": "invalid_day", "detail": "Los compromisos son para ayer, hoy o mañana."}
    r = await rosa.post("/api/v1/groups/join", {"invite_code": "NOSUCHCODE", "accept_agreement": True})
    assert r.status_code == 404 and r.json()["detail"] == (
        "No reconocemos ese código de invitación. Revísalo con quien te lo compartió.")
    # The same error, for Sam, in English; the error codes stay English for everyone.
    r = await sam.post(f"/api/v1/groups/{gid}/commitments",
                       {"category": "rest", "text": "Later", "day": "2026-03-12"})
    assert r.json() == {"error": "invalid_day", "detail": "Commitments are for yesterday, today or tomorrow."}

    # An invite link that does not work, read by a visitor whose browser prefers Spanish.
    r = await cairn.anonymous().get("/invite/NOSUCHCODE", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert r.status_code == 404
    assert "Este enlace de invitación no funciona" in r.text
    assert "No reconocemos ese enlace de invitación. Revísalo con quien te lo compartió." in r.text


async def test_forms_flash_and_errors_in_spanish(cairn: Clients, travel) -> None:
    travel(NOON)
    lucia, tom = await sign_up(cairn, "lucia"), await sign_up(cairn, "tom")
    gid, code = await create_group(tom, "Martes")
    assert (await join(lucia, code)).status_code == 303
    await speaks_spanish(cairn, await user_id_of(cairn, "lucia"))
    cid = await post_commitment(lucia, gid, "Un vaso de agua")
    page = (await lucia.get(f"/groups/{gid}")).text
    assert '<p class="flash" id="flash" role="status">Tu compromiso está publicado. Ve con calma.</p>' in page
    # A number out of range names its field in Spanish too.
    r = await lucia.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "done", "feeling": "9"})
    assert r.status_code == 422
    assert "Cómo te sientes debe ser un número entero del 1 al 5." in r.text
    r = await lucia.submit(f"/groups/{gid}/commitments/{cid}/checkin", {"status": "partly"})
    assert r.status_code == 303
    page = (await lucia.get(r.headers["location"])).text
    assert "Seguimiento guardado: en parte. Un poco también es un avance real." in page
    assert '<span class="status status-partly">En parte</span>' in page
    # Tom's forms still speak English.
    r = await tom.submit("/groups", {"name": "Otro", "capacity": "50"})
    assert r.status_code == 422 and "A group&#39;s size should be a whole number from 3 to 20." in r.text
    r = await tom.submit(f"/groups/{gid}/invites", {"expires_in_days": "5"})
    assert r.status_code == 303
    assert "New invite code: " in (await tom.get(f"/groups/{gid}")).text
