"""Live sockets go straight to their handlers (server.middleware.LiveSockets); any other path,
and a socket path without a plain id, go through the app as before."""

from __future__ import annotations

from typing import Any

import pytest

from server.deps import MAX_ID
from server.middleware import LiveSockets


def dispatch(path: str, root_path: str = "") -> tuple[str, Any]:
    seen: list[tuple[str, Any]] = []

    async def group(websocket: Any, gid: int) -> None:
        seen.append(("group", gid))

    async def room(websocket: Any, rid: int) -> None:
        seen.append(("room", rid))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(("app", scope["path"]))

    straight = LiveSockets(app, {"/ws/groups/": group, "/ws/roleplays/": room}, MAX_ID)
    scope = {"type": "websocket", "path": path, "root_path": root_path, "headers": []}
    coroutine = straight(scope, None, None)  # type: ignore[arg-type]
    with pytest.raises(StopIteration):
        coroutine.send(None)  # type: ignore[attr-defined]
    [what] = seen
    return what


def test_a_socket_with_a_plain_id_goes_to_its_handler() -> None:
    assert dispatch("/ws/groups/12") == ("group", 12)
    assert dispatch("/ws/roleplays/7") == ("room", 7)
    assert dispatch(f"/ws/groups/{MAX_ID}") == ("group", MAX_ID)
    assert dispatch("/cairn/ws/groups/3", root_path="/cairn") == ("group", 3)


@pytest.mark.parametrize("path", [
    "/ws/groups/012", "/ws/groups/0", "/ws/groups/12x", "/ws/groups/", "/ws/groups/-1",
    f"/ws/groups/{MAX_ID + 1}", "/ws/groups/١٢", "/ws/groups/12/", "/ws/other/12",
    "/x/ws/groups/12",
])
def test_anything_else_goes_through_the_app(path: str) -> None:
    assert dispatch(path) == ("app", path)


def test_pages_go_through_the_app() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def never(websocket: Any, gid: int) -> None:
        raise AssertionError("a page is not a socket")

    coroutine = LiveSockets(app, {"/ws/groups/": never}, MAX_ID)(
        {"type": "http", "path": "/ws/groups/12"}, None, None)  # type: ignore[arg-type]
    with pytest.raises(StopIteration):
        coroutine.send(None)  # type: ignore[attr-defined]
    assert seen == ["http"]


def test_the_app_sends_each_socket_route_straight_to_its_handler() -> None:
    from server.main import create_app
    from server.realtime.ws import group_socket
    from server.roleplay.ws import room_socket

    [layer] = [m for m in create_app().user_middleware if m.cls is LiveSockets]
    assert layer.kwargs["endpoints"] == {"/ws/groups/": group_socket,
                                         "/ws/roleplays/": room_socket}
