"""Clients for real server processes: members over HTTP, sockets over websockets."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

PASSWORD = "a quiet river bend"
_names = itertools.count(1)


@dataclass
class RemoteMember:
    base_url: str
    user: dict[str, Any]
    token: str

    @property
    def id(self) -> int:
        return self.user["id"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, path: str, json_body: Any = None, base_url: str | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=base_url or self.base_url, timeout=30) as c:
            return await c.post(path, json=json_body, headers=self.headers)

    async def get(self, path: str, base_url: str | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=base_url or self.base_url, timeout=30) as c:
            return await c.get(path, headers=self.headers)

    async def patch(self, path: str, json_body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            return await c.patch(path, json=json_body, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            return await c.delete(path, headers=self.headers)

    def socket(self, ws_base: str, group_id: int, last_seq: int | None = None,
               fragments: bool = False, epoch: str | None = None, **kw: Any):
        query = [f"last_seq={last_seq}"] if last_seq is not None else []
        query += [f"epoch={epoch}"] if epoch else []
        query += ["fragments=1"] if fragments else []
        url = f"{ws_base}/ws/groups/{group_id}" + ("?" + "&".join(query) if query else "")
        return websockets.connect(url, additional_headers=self.headers, open_timeout=10, **kw)


async def remote_member(base_url: str, name: str | None = None,
                        display_name: str | None = None) -> RemoteMember:
    name = name or f"person{next(_names)}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        r = await c.post("/api/v1/auth/register", json={
            "username": name, "password": PASSWORD, "display_name": display_name or name.title()})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return RemoteMember(base_url, r.json()["user"], r.json()["token"])


async def remote_group(moderator: RemoteMember, *members: RemoteMember) -> dict[str, Any]:
    r = await moderator.post("/api/v1/groups", {"name": "Live circle", "capacity": 20})
    assert r.status_code == 201, r.text
    group = r.json()
    for m in members:
        r = await m.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                                  "accept_agreement": True})
        assert r.status_code == 200, r.text
    return group


async def next_frame(ws: Any, timeout: float = 30, skip: tuple[str, ...] = ("presence",)) -> dict:
    """The next frame whose type is not in skip. The timeout is a last guard, never what a
    test waits on: the frame arriving is."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame.get("type") not in skip:
            return frame


async def events_until(ws: Any, count: int, timeout: float = 60) -> list[dict]:
    got: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < count:
        frame = await next_frame(ws, max(0.01, deadline - loop.time()))
        if frame["type"] == "event":
            got.append(frame)
    return got


async def settle(ws: Any) -> list[dict]:
    """Everything the server sent this socket before the answer to a ping sent now, presence
    and pongs aside (the server answers in order, so this waits on an event, not a time)."""
    await ws.send('{"type":"ping"}')
    got = []
    while True:
        # A last guard only: the pong is what ends the wait.
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "pong":
            return got
        if frame["type"] != "presence":
            got.append(frame)


async def until_closed(ws: Any) -> tuple[list[dict], int | None]:
    """Every frame until the server closes the socket, and its close code."""
    got = []
    try:
        while True:
            # A last guard only: the close is what ends the wait.
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
    except websockets.ConnectionClosed as closed:
        return got, closed.rcvd.code if closed.rcvd else None


async def close_code(ws: Any, timeout: float = 30) -> int | None:
    """Read until the server closes; the close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
