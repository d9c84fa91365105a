"""The bare relay: the floor Cairn's sockets are measured against.

One websocket route, `/ws/rooms/{room}`, that forwards every text frame to every socket
in the room (the sender included, as Cairn echoes an encouragement to its sender). No
auth, no database, no queue per socket: only FastAPI, Starlette and uvicorn, served with
the same websocket options as Cairn.

    python -m bench.relay --host 127.0.0.1 --port 8100
    python -m bench.relay --app server.main:app --deflate    # Cairn, compression on
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from server.cli import WS_OPTIONS

app = FastAPI(title="bare relay", docs_url=None, redoc_url=None, openapi_url=None)
rooms: dict[str, set[WebSocket]] = defaultdict(set)


@app.websocket("/ws/rooms/{room}")
async def room_socket(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    members = rooms[room]
    members.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            for peer in list(members):
                try:
                    await peer.send_text(text)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    members.discard(peer)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        members.discard(websocket)
        if not members:
            rooms.pop(room, None)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--app", default="bench.relay:app",
                        help="serve another ASGI app with the same options (e.g. server.main:app)")
    parser.add_argument("--deflate", action="store_true",
                        help="turn permessage-deflate on (Cairn serves with it off)")
    args = parser.parse_args()
    # The same process shape as `cairn serve`: one uvicorn worker, the same socket options.
    options = {**WS_OPTIONS, "ws_per_message_deflate": args.deflate}
    uvicorn.run(args.app, host=args.host, port=args.port, proxy_headers=True, workers=1,
                log_level=os.environ.get("CAIRN_LOG_LEVEL", "warning"), **options)


if __name__ == "__main__":
    main()
