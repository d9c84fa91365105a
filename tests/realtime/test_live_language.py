"""The live socket in each member's language: the fragments a group's page receives are rendered
once per (role, language), and the socket's error frames are said in its member's language
(their own setting if offered, else what the handshake's Accept-Language prefers, else
English). On SQLite and PostgreSQL, over real sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from sqlalchemy import update

from server.db import transaction
from server.models import User
from tests.fixtures.servers import InProcessServer
from tests.realtime.helpers import RemoteMember, events_until, next_frame, remote_group, remote_member


@pytest.fixture
def server(inprocess_server: InProcessServer) -> InProcessServer:
    return inprocess_server


async def speaks(server: InProcessServer, member: RemoteMember, language: str) -> None:
    async with transaction(server.app.state.db) as session:
        await session.execute(update(User).where(User.id == member.id).values(language=language))


def page_socket(server: InProcessServer, member: RemoteMember, gid: int,
                accept_language: str | None = None) -> Any:
    """A group page's socket: fragments asked for, the browser's Accept-Language sent."""
    headers = {**member.headers, **({"Accept-Language": accept_language} if accept_language else {})}
    return websockets.connect(f"{server.ws_url}/ws/groups/{gid}?fragments=1",
                              additional_headers=headers, open_timeout=10)


def html_of(frame: dict) -> str:
    return json.dumps(frame["html"], ensure_ascii=False)


async def test_a_live_card_arrives_in_each_members_language(server: InProcessServer) -> None:
    alex = await remote_member(server.url, "alex")   # moderates; English
    rosa = await remote_member(server.url, "rosa")   # chose Spanish
    carla = await remote_member(server.url, "carla")  # a language not offered; her browser prefers Spanish
    sam = await remote_member(server.url, "sam")
    gid = (await remote_group(alex, rosa, carla, sam))["id"]
    await speaks(server, rosa, "es")
    await speaks(server, carla, "fr")
    async with page_socket(server, alex, gid, "es") as en, page_socket(server, rosa, gid) as es, \
            page_socket(server, carla, gid, "es-MX,es;q=0.9") as from_browser:
        for ws in (en, es, from_browser):
            assert (await next_frame(ws))["type"] == "welcome"
        r = await sam.post(f"/api/v1/groups/{gid}/commitments", {"category": "water", "text": "Agua <b>ya</b>"})
        assert r.status_code == 201, r.text
        (english,), (spanish,), (spanish_too,) = [await events_until(ws, 1) for ws in (en, es, from_browser)]

    # The same event, the same data; its markup in the reader's language.
    assert english["data"] == spanish["data"] == spanish_too["data"]
    said = html_of(spanish)
    for words in ("Aún sin seguimiento", "Cuídate", ">Agua</span>", "Animar a <span data-member-words>Sam</span>",
                  "Reportar", "Agua &lt;b&gt;ya&lt;/b&gt;"):
        assert words in said, words
    assert "Not checked in yet" not in said and "Encourage" not in said
    assert html_of(spanish_too) == said  # rendered once for both: the same audience
    # Alex's is English, whatever his browser prefers: his own setting is English. As a moderator
    # his card also has Hide.
    told = html_of(english)
    for words in ("Not checked in yet", "Take care of yourself", ">Water</span>",
                  "Encourage <span data-member-words>Sam</span>", ">Report<", ">Hide<"):
        assert words in told, words
    assert "Aún sin seguimiento" not in told


async def test_error_frames_are_said_in_the_sockets_language(server: InProcessServer) -> None:
    alex, rosa = await remote_member(server.url, "alex"), await remote_member(server.url, "rosa")
    gid = (await remote_group(alex, rosa))["id"]
    await speaks(server, rosa, "es")
    async with page_socket(server, alex, gid) as en, page_socket(server, rosa, gid) as es:
        for ws in (en, es):
            assert (await next_frame(ws))["type"] == "welcome"
            await ws.send(json.dumps({"type": "encourage", "ref": "c1", "kind": "applause",
                                      "to_user_id": alex.id}))
            await ws.send(json.dumps({"type": "dance"}))
            await ws.send("{not json")
        english = [await next_frame(en) for _ in range(3)]
        spanish = [await next_frame(es) for _ in range(3)]
    kinds = "proud, rest_counts, boundary_matters, worth_it, with_you"
    assert english == [
        {"type": "error", "code": "invalid_kind", "detail": f"Choose one of the cheers: {kinds}.", "ref": "c1"},
        {"type": "error", "code": "unknown_command", "detail": "Unknown command: dance"},
        {"type": "error", "code": "bad_json", "detail": "That frame is not valid JSON."}]
    assert spanish == [
        {"type": "error", "code": "invalid_kind", "detail": f"Elige uno de los ánimos: {kinds}.", "ref": "c1"},
        {"type": "error", "code": "unknown_command", "detail": "Comando desconocido: dance"},
        {"type": "error", "code": "bad_json", "detail": "Ese frame no es JSON válido."}]


async def test_a_language_chosen_later_is_read_from_the_next_connection(server: InProcessServer) -> None:
    alex, rosa = await remote_member(server.url, "alex"), await remote_member(server.url, "rosa")
    gid = (await remote_group(alex, rosa))["id"]
    async with page_socket(server, rosa, gid) as before:
        assert (await next_frame(before))["type"] == "welcome"
        await speaks(server, rosa, "es")
        await before.send(json.dumps({"type": "dance"}))
        assert (await next_frame(before))["detail"] == "Unknown command: dance"
    async with page_socket(server, rosa, gid) as after:
        assert (await next_frame(after))["type"] == "welcome"
        await after.send(json.dumps({"type": "dance"}))
        assert (await next_frame(after))["detail"] == "Comando desconocido: dance"
