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
    """A client that reads every frame, each a little later than the server could send it."""

    def __init__(self, last: int) -> None:
        self.seqs: list[int] = []
        self.last = last
        self.read_all = asyncio.Event()

    async def send_text(self, frame: str) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        self.seqs.append(json.loads(frame)["seq"])
        if self.seqs[-1] == self.last:
            self.read_all.set()


def _events(gid: int, first: int, count: int) -> list[tuple[Event, None]]:
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return [(Event(group_id=gid, stream=GROUP, seq=seq, kind="encouragement.sent", actor_id=None,
                   data={"kind": "proud"}, at=at), None)
            for seq in range(first, first + count)]


async def test_catching_a_group_up_waits_for_a_slow_reader_and_lets_a_stopped_one_go(monkeypatch):
    """The hub reads a long gap from the log a page at a time: a socket that reads, however
    slowly, gets every event of it and is never taken for a slow reader; one that stopped
    reading is waited for only so long, then closed with 4408."""
    monkeypatch.setattr(hub_module, "PATIENCE_SECONDS", 0.2)
    gap = group_ws.QUEUE_SIZE * 3
    log = _events(1, 1, gap)
    hub = Hub(db=None, backend=MemoryBackend())  # type: ignore[arg-type]
    feed = hub.feeds[1] = GroupFeed({GROUP: 0, MODERATORS: 0})

    async def read(_gid: int, feed: GroupFeed, stream: str):  # the log, a page at a time
        done = feed.cursors[stream] if stream == GROUP else gap
        return log[done:done + PAGE], set(), set()

    monkeypatch.setattr(hub, "_read", read)
    slow, stopped = ReadsSlowly(last=gap), NeverReads(pings=0)
    reader = group_ws.GroupSocket(slow, db=None, user_id=1, group_id=1, delivered=0)  # type: ignore[arg-type]
    frozen = group_ws.GroupSocket(stopped, db=None, user_id=2, group_id=1, delivered=0)  # type: ignore[arg-type]
    for sock in (reader, frozen):
        feed.subscribers.add(sock)
        sock.start_sending()
    await hub._read_new(1, feed, GROUP)
    # Every frame read, or the reader let go (as it was before the hub waited for room).
    read_all = asyncio.ensure_future(slow.read_all.wait())
    await asyncio.wait([read_all, reader.done], return_when=asyncio.FIRST_COMPLETED)
    read_all.cancel()
    assert reader.closing is None
    assert slow.seqs == list(range(1, gap + 1))
    assert frozen.closing is not None and frozen.closing[0] == group_ws.CLOSE_SLOW
    await reader.stop_sending()
    await frozen.stop_sending()
