"""A group socket's outgoing queue, without a server: a client that floods the socket with
commands and never reads the answers is let go as a slow reader (4408), and the socket
stops reading from it at once instead of dropping every later answer in silence."""

from __future__ import annotations

import asyncio
from typing import Any

from server.realtime import ws as group_ws


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
