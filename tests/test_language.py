"""Choosing the language: from Accept-Language at sign-up, in Settings and the API's `me`, on
the public pages' switch (remembered for a visitor); and what reads in it: pages, API errors
(validation errors too), help and crisis support, reminders, the offline page and the demo."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select

from server import i18n
from server.db import Database, transaction
from server.demo import seed
from server.models import Group, User
from server.models.reminders import Nudge
from server.reminders import schedule
from server.reminders import service as reminders
from tests.fixtures.clients import PASSWORD, Clients, make_settings
from tests.test_i18n import cairn, only_english  # noqa: F401 - fixtures
from tests.test_pages import Browser

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en"}


async def language_of(clients: Clients, username: str) -> str:
    async with transaction(clients.app.state.db) as session:
        return (await session.scalar(select(User.language).where(User.username == username))) or ""


async def spanish_browser(clients: Clients, name: str) -> Browser:
    """Signs up on the page, its browser preferring Spanish."""
    browser = Browser(clients.anonymous())
    browser.client.headers.update(SPANISH)
    await browser.get("/signup")
    r = await browser.submit("/signup", {"username": name, "display_name": name.title(),
                                         "password": PASSWORD, "password_again": PASSWORD,
                                         "timezone": "UTC"})
    assert r.status_code == 200, r.text
    assert "Tus códigos de recuperación" in r.text and '<html lang="es">' in r.text
    return browser


# --- choosing ---------------------------------------------------------------------------------

async def test_sign_up_takes_the_browsers_language_page_and_api(cairn: Clients) -> None:  # noqa: F811
    await spanish_browser(cairn, "lucia")
    assert await language_of(cairn, "lucia") == "es"
    anon = cairn.anonymous()
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": "mateo", "password": PASSWORD})
    assert r.status_code == 201 and r.json()["language"] == "es"
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": "robin", "password": PASSWORD, "language": "en"})
    assert r.status_code == 201 and r.json()["language"] == "en"
    r = await anon.post("/api/v1/auth/register", headers={"Accept-Language": "fr, en;q=0.5"},
                        json={"username": "sam", "password": PASSWORD})
    assert r.json()["language"] == "en"
    # A language Cairn does not offer is refused, clearly.
    r = await anon.post("/api/v1/auth/register", json={"username": "ari", "password": PASSWORD,
                                                      "language": "fr"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_language"
    assert r.json()["offered"] == ["en", "es"] and "en, es" in r.json()["detail"]


async def test_me_shows_the_language_and_changes_it(cairn: Clients) -> None:  # noqa: F811
    member = await cairn.member("quinn")
    r = await member.get("/api/v1/me")
    assert r.json()["language"] == "en"
    r = await member.patch("/api/v1/me", {"language": "es"})
    assert r.status_code == 200 and r.json()["language"] == "es"
    # Errors now read in their language, whatever the browser says; the code stays English.
    r = await member.patch("/api/v1/me", {"language": "klingon"}, headers=ENGLISH)
    assert r.status_code == 422 and r.json()["error"] == "invalid_language"
    assert r.json()["detail"] == "Cairn todavía no habla ese idioma. Elige uno de estos: en, es."
    assert (await member.get("/api/v1/me")).json()["language"] == "es"
    schema = (await cairn.anonymous().get("/openapi.json")).json()["components"]["schemas"]
    assert "language" in schema["UserOut"]["properties"] and "language" in schema["ProfileIn"]["properties"]


async def test_settings_chooses_the_language(cairn: Clients) -> None:  # noqa: F811
    browser = await spanish_browser(cairn, "valeria")
    page = (await browser.get("/settings")).text
    assert '<select id="language" name="language"' in page
    assert '<option value="es" lang="es" selected>Español</option>' in page
    assert "El idioma en que Cairn te habla" in page
    r = await browser.submit("/settings", {"display_name": "Valeria", "timezone": "UTC",
                                           "language": "en"})
    assert r.status_code == 303
    assert await language_of(cairn, "valeria") == "en"
    page = (await browser.get("/settings")).text  # the browser still prefers Spanish
    assert '<html lang="en">' in page and "Your settings are saved." in page
    r = await browser.submit("/settings", {"display_name": "Valeria", "timezone": "UTC",
                                           "language": "xx"})
    assert r.status_code == 422 and "Cairn does not speak that language yet." in r.text
    assert await language_of(cairn, "valeria") == "en"


async def test_the_switch_remembers_a_visitors_choice(cairn: Clients) -> None:  # noqa: F811
    visitor = Browser(cairn.anonymous())
    visitor.client.headers.update(ENGLISH)
    page = (await visitor.get("/login")).text
    assert '<html lang="en">' in page
    assert '<form class="language-switch inline-form" method="post" action="/language"' in page
    assert '<strong lang="en" aria-current="true">English</strong>' in page
    assert '<button type="submit" class="link-button" name="language" value="es" lang="es">Español</button>' in page
    assert '<input type="hidden" name="next" value="/login">' in page
    # Without the page's token, nothing changes.
    r = await visitor.submit("/language", {"language": "es", "next": "/login"}, csrf="forged")
    assert r.status_code == 403 and i18n.COOKIE not in r.cookies
    r = await visitor.submit("/language", {"language": "es", "next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    page = (await visitor.get("/login")).text
    assert '<html lang="es">' in page and "Qué bueno verte de nuevo" in page
    assert (await visitor.get("/")).headers["content-language"] == "es"
    # Another site's address is never where it leads; a language not offered is refused.
    r = await visitor.submit("/language", {"language": "en", "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = await visitor.submit("/language", {"language": "fr", "next": "/"})
    assert r.status_code == 422 and "Cairn todavía no habla ese idioma" not in r.text
    assert "Cairn does not speak that language yet." in r.text
    # Signed up from here: the choice is the new member's own.
    await visitor.get("/signup")
    await visitor.submit("/language", {"language": "es", "next": "/signup"})
    r = await visitor.submit("/signup", {"username": "tomas", "display_name": "Tomás",
                                         "password": PASSWORD, "password_again": PASSWORD,
                                         "timezone": "UTC"})
    assert r.status_code == 200 and await language_of(cairn, "tomas") == "es"


async def test_a_members_switch_is_their_setting(cairn: Clients) -> None:  # noqa: F811
    browser = await spanish_browser(cairn, "ines")
    r = await browser.submit("/language", {"language": "en", "next": "/groups"})
    assert r.status_code == 303 and await language_of(cairn, "ines") == "en"


async def test_with_one_language_there_is_no_switch(only_english: None,  # noqa: F811
                                                     cairn: Clients) -> None:  # noqa: F811
    page = (await cairn.anonymous().get("/login", headers=SPANISH)).text
    assert 'action="/language"' not in page and '<html lang="en">' in page
    member = await cairn.member("olive")
    r = await member.patch("/api/v1/me", {"language": "es"})
    assert r.status_code == 422 and r.json()["detail"] == (
        "Cairn does not speak that language yet. Choose one of: en.")


# --- pages ------------------------------------------------------------------------------------

async def test_the_public_pages_read_in_spanish(cairn: Clients) -> None:  # noqa: F811
    anon = cairn.anonymous()
    for path, words in [
        ("/", ["Un lugar tranquilo para practicar la recuperación en compañía", "Tres pasos, un día a la vez"]),
        ("/help", ["¿Necesitas ayuda ahora?", "Líneas de crisis", "Estados Unidos",
                   "Apoya los dos pies en el suelo.", "llama al <a href=\"tel:988\">988</a>",
                   "escribe al 988", "Envía HOME al 741741", "Teléfono de la Esperanza"]),
        ("/forgot", ["¿Olvidaste tu contraseña?", "Guardar mi contraseña nueva e iniciar sesión"]),
        ("/no-such-page", ["No pudimos encontrar eso.", "Quizá se movió"]),
    ]:
        r = await anon.get(path, headers=SPANISH)
        assert '<html lang="es">' in r.text, path
        for said in words:
            assert said in r.text, (path, said)
    r = await anon.get("/api/v1/help/resources", headers=SPANISH, params={"country": "US"})
    assert r.json()["grounding"][0].startswith("Apoya los dos pies")
    assert r.json()["countries"][0]["name"] == "Estados Unidos"


async def test_members_pages_of_the_area_read_in_spanish(cairn: Clients) -> None:  # noqa: F811
    mod = await spanish_browser(cairn, "pilar")
    r = await mod.submit("/groups", {"name": "Círculo", "description": "Los martes.", "capacity": "8"})
    gid = int(re.match(r"/groups/(\d+)", r.headers["location"]).group(1))
    page = (await mod.get(f"/groups/{gid}/moderation")).text
    for said in ("<h1>Moderación</h1>", "Necesita cuidado", "No hay reportes abiertos.",
                 "1 de 8", "(tú)", 'Sesión iniciada como <span data-member-words>Pilar</span>.'):
        assert said in page, said
    assert "Registro de moderación" in (await mod.get(f"/groups/{gid}/audit")).text
    page = (await mod.get("/settings")).text
    assert "Tienes <strong>10</strong> códigos de recuperación sin usar." in page
    assert "Eliminar mi cuenta para siempre" in page
    page = (await mod.get("/settings/reminders")).text
    assert "Recordatorios amables" in page and "Por un día" in page
    words = json.loads(re.search(r'<script type="application/json" id="reminder-words">(.*?)</script>',
                                 page, re.S).group(1))
    assert words["stopped"] == "Este dispositivo ya no recibe recordatorios."
    # A flash message, in the language: signing out.
    r = await mod.submit("/logout", {})
    assert r.status_code == 303
    page = (await mod.get("/")).text
    assert "Cerraste sesión. Cuídate mucho." in page


# --- API errors ---------------------------------------------------------------------------------

async def test_api_errors_read_in_spanish_with_their_codes_unchanged(cairn: Clients) -> None:  # noqa: F811
    anon = cairn.anonymous()
    r = await anon.post("/api/v1/auth/register", headers=SPANISH, json={"password": PASSWORD})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid" and body["detail"] == "Falta el campo username."
    assert body["errors"][0]["type"] == "missing" and body["errors"][0]["loc"] == ["body", "username"]
    assert body["errors"][0]["msg"] == "Field required"  # pydantic's own, as it was
    r = await anon.post("/api/v1/auth/register", headers=ENGLISH, json={"password": PASSWORD})
    assert r.json()["detail"] == "The field username is missing."
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": "x" * 65, "password": PASSWORD})
    assert r.json()["detail"] == "El campo username debe tener como máximo 64 caracteres."
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": "", "password": PASSWORD})
    assert r.json()["detail"] == "El campo username no debe estar vacío."
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": 12, "password": PASSWORD})
    assert r.json()["detail"] == "El campo username debe ser texto."
    r = await anon.post("/api/v1/auth/register", content=b"{nope",
                        headers={**SPANISH, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "malformed"
    assert r.json()["detail"] == "El cuerpo de la solicitud no es JSON válido."
    r = await anon.post("/api/v1/auth/register", headers=SPANISH,
                        json={"username": "ok_name", "password": "short"})
    assert r.json() == {"error": "weak_password", "detail": "Usa al menos 10 caracteres."}
    r = await anon.post("/api/v1/auth/login", headers=SPANISH,
                        json={"username": "ghost", "password": "boo boo boo boo"})
    assert r.json() == {"error": "bad_credentials",
                        "detail": "Ese nombre de usuario y esa contraseña no coinciden."}
    r = await anon.put("/api/v1/groups", headers=SPANISH)
    assert r.status_code == 405 and r.json()["detail"] == "Eso no se puede hacer aquí."


# --- crisis words, whatever the member's language ------------------------------------------------

async def test_spanish_crisis_words_bring_help_to_an_english_member(clients: Clients) -> None:
    member = await clients.member()
    group = await clients.group(member)
    r = await member.post(f"/api/v1/groups/{group['id']}/commitments",
                          {"category": "rest", "text": "Hoy ya no aguanto más, quiero desaparecer"})
    assert r.status_code == 201
    support = r.json()["support"]
    assert support["message"].startswith("You don't have to carry this alone.")
    assert support["grounding"][0].startswith("Put both feet on the floor.")


async def test_a_spanish_members_support_reads_in_spanish(cairn: Clients) -> None:  # noqa: F811
    member = await cairn.member()
    assert (await member.patch("/api/v1/me", {"language": "es"})).status_code == 200
    group = await cairn.group(member)
    r = await member.post(f"/api/v1/groups/{group['id']}/commitments",
                          {"category": "rest", "text": "I can't go on"})
    support = r.json()["support"]
    assert support["message"].startswith("No tienes que cargar con esto a solas.")
    assert support["grounding"][0].startswith("Apoya los dos pies en el suelo.")


# --- reminders ------------------------------------------------------------------------------------

async def test_a_reminders_push_is_in_the_members_language(cairn: Clients) -> None:  # noqa: F811
    settings = cairn.app.state.settings
    due = schedule.Due(Nudge.PRACTICE, dt.date(2026, 3, 3), dt.time(8, 30),
                       dt.datetime(2026, 3, 3, 8, 30, tzinfo=dt.UTC), group_id=4)
    spanish = reminders.push_payload(settings, 7, "es", due)
    assert spanish["title"] == "Cairn" and spanish["lang"] == "es"
    assert spanish["body"] == (f"Una sesión de práctica empieza en {schedule.PRACTICE_LEAD_MINUTES} "
                               "minutos. Ven tal como estás.")
    assert spanish["words"]["stop"] == "Detener estos recordatorios"
    assert spanish["url"] == "/groups/4"  # by its number only: nothing anyone wrote
    english = reminders.push_payload(settings, 7, "en", due)
    assert english["body"].startswith("A practice session starts in")
    assert english["words"]["stop"] == "Stop these reminders"
    # A language Cairn no longer offers reads in English.
    assert reminders.push_payload(settings, 7, "fr", due)["body"] == english["body"]
    morning = schedule.Due(Nudge.MORNING, due.day, due.at, due.when)
    assert reminders.push_payload(settings, 7, "es", morning)["body"] == (
        "Un recordatorio amable: un pequeño acto de cuidado para hoy, cuando puedas.")


# --- the offline page and the worker --------------------------------------------------------------

async def test_the_offline_page_is_kept_in_each_language(cairn: Clients) -> None:  # noqa: F811
    anon = cairn.anonymous()
    r = await anon.get("/offline?lang=es", headers=ENGLISH)
    assert '<html lang="es">' in r.text and "No tienes conexión" in r.text
    assert r.headers["content-language"] == "es" and "set-cookie" not in r.headers
    assert 'action="/language"' not in r.text
    r = await anon.get("/offline", headers=SPANISH)
    assert "No tienes conexión" in r.text and "Apoya los dos pies" in r.text
    assert "You are offline" in (await anon.get("/offline?lang=xx", headers=ENGLISH)).text
    source = (await anon.get("/sw.js")).text
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))
    assert shell[-3:] == ["/offline", "/offline?lang=en", "/offline?lang=es"]
    pages = json.loads(re.search(r"const OFFLINE_PAGES = (\{.*?\});", source).group(1))
    assert pages == {"en": "/offline?lang=en", "es": "/offline?lang=es"}
    assert 'headers.get("Content-Language")' in source


# --- the demo -------------------------------------------------------------------------------------

async def test_the_demo_in_spanish(sqlite_database_url: str) -> None:
    people = await seed(sqlite_database_url, "es")
    assert people == ["lucia", "mateo", "valeria", "tomas"]
    db = Database(make_settings(sqlite_database_url))
    try:
        async with transaction(db) as session:
            names = (await session.execute(select(User.display_name, User.language))).all()
            group = await session.scalar(select(Group))
    finally:
        await db.dispose()
    assert ("Lucía", "es") in names and all(language == "es" for _, language in names)
    assert group is not None and group.name == "Círculo de los martes"
