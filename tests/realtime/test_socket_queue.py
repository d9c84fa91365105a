"""A group socket's outgoing queue, without a server: a client that floods the socket with
commands and never reads the answers is let go as a slow reader (4408), and the socket
stops reading from it at once instead of dropping every later answer in silence; a client
that reads slowly is never overrun by the hub catching its group up from the log."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from server.models import Event
from server.realtime import hub as hub_module
from server.realtime import ws as group_ws
from server.realtime.backends.memory import MemoryBackend
from server.realtime.hub import PAGE, GroupFeed, Hub
from server.realtime.log import GROUP, MODERATORS


class NeverReads:
    """A connection whose client sends pings and never reads: every send hangs."""

    def __init__(self, pings: int) -> None:
        self.pings = pings
        self.received = 0
        self.sent = 0

    async def receive(self) -> dict[str, Any]:
        if self.received == self.pings:
            return {"type": "websocket.disconnect"}
        self.received += 1
        await asyncio.sleep(0)  # the sender task gets its turn, as on a real connection
        return {"type": "websocket.receive", "text": '{"type":"ping"}'}

    async def send_text(self, frame: str) -> None:
        self.sent += 1
        await asyncio.Event().wait()  # the client's buffers are full


async def no_command(*_: Any) -> None:
    raise AssertionError("pings are answered by the socket itself")


async def test_a_flood_nobody_reads_is_closed_as_a_slow_reader():
    conn = NeverReads(pings=group_ws.QUEUE_SIZE * 3)
    sock = group_ws.GroupSocket(conn, db=None, user_id=1, group_id=1, delivered=0)  # type: ignore[arg-type]
    sock.start_sending()
    await group_ws._receive_loop(conn, sock, no_command)  # type: ignore[arg-type]
    assert sock.closing is not None and sock.closing[0] == group_ws.CLOSE_SLOW
    # It stopped reading once the queue was full, rather than reading (and dropping the
    # answers to) everything the client went on sending.
    assert conn.received <= group_ws.QUEUE_SIZE + 2, conn.received
    await sock.stop_sending()


class ReadsSlowly:
    """A client behind a buffer of one frame, read by a task of its own: each frame waits
    until the one before it was read, so the socket sends slower than the hub offers."""

    def __init__(self, last: int) -> None:
        self.seqs: list[int] = []
        self.last = last
        self.read_all = asyncio.Event()
        self.buffer: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self.reading = asyncio.create_task(self._read())

    async def send_text(self, frame: str) -> None:
        await self.buffer.put(frame)

    async def _read(self) -> None:
        while True:
            self.seqs.append(json.loads(await self.buffer.get())["seq"])
            if self.seqs[-1] == self.last:
                self.read_all.set()


def _events(gid: int, first: int, count: int) -> list[tuple[Event, None]]:
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return [(Event(group_id=gid, stream=GROUP, seq=seq, kind="encouragement.sent", actor_id=None,
                   data={"kind": "proud"}, at=at), None)
            for seq in range(first, first + count)]


GAP = group_ws.QUEUE_SIZE * 3


def _catching_up(monkeypatch, *conns: object) -> tuple[Hub, GroupFeed, list[group_ws.GroupSocket]]:
    """A hub whose group's log holds GAP events its feed has not read, and a socket on each of
    these connections."""
    log = _events(1, 1, GAP)
    hub = Hub(db=None, backend=MemoryBackend())  # type: ignore[arg-type]
    feed = hub.feeds[1] = GroupFeed({GROUP: 0, MODERATORS: 0})

    async def read(_gid: int, feed: GroupFeed, stream: str):  # the log, a page at a time
        done = feed.cursors[stream] if stream == GROUP else GAP
        return log[done:done + PAGE], set(), set()

    monkeypatch.setattr(hub, "_read", read)
    socks = [group_ws.GroupSocket(conn, db=None, user_id=i, group_id=1, delivered=0)  # type: ignore[arg-type]
             for i, conn in enumerate(conns, 1)]
    for sock in socks:
        feed.subscribers.add(sock)
        sock.start_sending()
    return hub, feed, socks


async def test_catching_a_group_up_waits_for_a_slow_reader(monkeypatch):
    """The hub reads a long gap from the log a page at a time: a socket that reads, however
    slowly, gets every event of it, in order, and is never taken for a slow reader."""
    slow = ReadsSlowly(last=GAP)
    hub, feed, (reader,) = _catching_up(monkeypatch, slow)
    await hub._read_new(1, feed, GROUP)
    # Every frame read, or the reader let go (as it was before the hub waited for room).
    read_all = asyncio.ensure_future(slow.read_all.wait())
    await asyncio.wait([read_all, reader.done], return_when=asyncio.FIRST_COMPLETED)
    read_all.cancel()
    assert reader.closing is None
    assert slow.seqs == list(range(1, GAP + 1))
    await reader.stop_sending()
    slow.reading.cancel()


async def test_catching_a_group_up_lets_a_reader_that_stopped_go(monkeypatch):
    """One that stopped reading is waited for only so long (PATIENCE_SECONDS), then closed
    with 4408, and the group is caught up without it."""
    monkeypatch.setattr(hub_module, "PATIENCE_SECONDS", 0.05)
    hub, feed, (frozen,) = _catching_up(monkeypatch, NeverReads(pings=0))
    await asyncio.wait_for(hub._read_new(1, feed, GROUP), 60)  # a last guard: never for ever
    assert frozen.closing is not None and frozen.closing[0] == group_ws.CLOSE_SLOW
    assert feed.cursors[GROUP] == GAP
    await frozen.stop_sending()
