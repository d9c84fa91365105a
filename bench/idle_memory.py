"""Idle-socket memory: what one more open, idle socket costs the server process.

K idle sockets (default 10,000) are opened to the bare relay (rooms of 10) and to Cairn
(each authenticated with its own member's bearer token, in groups of 10), from several
client processes on the load core, each bound to its own source address (127.0.0.x) so
ephemeral ports never run out. The server's RSS is read after a small warm-up (lazy
imports, the database pool) and again once all K sockets are open and have been idle
through a keepalive ping; the difference over K is the cost of one socket.

Both servers run with Cairn's websocket options (compression off); --deflate turns
permessage-deflate on for both to show what it would cost.

    python -m bench.idle_memory                       # 10,000 sockets, Cairn on SQLite
    python -m bench.idle_memory --sockets 2000 --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from bench import common

WARM_UP = 200


# -- the client processes ---------------------------------------------------------------------

async def worker(url: str, members: list[list[Any]], local_addr: str, deflate: bool) -> None:
    """Opens sockets when told on stdin ("open N", "alive", "quit"); answers on stdout."""
    sockets: list[Any] = []
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(50)
    cairn = "/ws/groups/" in (members[0][0] if members else "")

    async def one(path: str, headers: dict[str, str]) -> Any:
        async with gate:
            for attempt in range(3):
                try:
                    ws = await websockets.connect(
                        url + path, additional_headers=headers, open_timeout=60,
                        compression="deflate" if deflate else None, local_addr=(local_addr, 0),
                        ping_interval=None)
                    if cairn:
                        await asyncio.wait_for(ws.recv(), 60)  # the welcome frame
                    return ws
                except (OSError, TimeoutError, websockets.WebSocketException):
                    if attempt == 2:
                        return None
                    await asyncio.sleep(1)
            return None

    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command or command[0] == "quit":
            break
        if command[0] == "open":
            start = len(sockets)
            batch = members[start:start + int(command[1])]
            opened = await asyncio.gather(*(one(p, h) for p, h in batch))
            sockets.extend(opened)
            print(f"opened {sum(ws is not None for ws in opened)} {sum(ws is None for ws in opened)}", flush=True)
        elif command[0] == "alive":
            print(f"alive {sum(ws is not None and ws.state.name == 'OPEN' for ws in sockets)}", flush=True)
    for i in range(0, len(sockets), 500):
        await asyncio.gather(*(asyncio.wait_for(ws.close(), 10) for ws in sockets[i:i + 500] if ws),
                             return_exceptions=True)


class Clients:
    """Several worker processes on the load core, each with its share of the members."""

    def __init__(self, url: str, members: list[tuple[str, dict[str, str]]], processes: int,
                 folder: Path, deflate: bool) -> None:
        self.procs: list[subprocess.Popen] = []
        self.shares: list[int] = []
        for i in range(processes):
            share = members[i::processes]
            path = folder / f"members-{i}.json"
            path.write_text(json.dumps(share))
            self.shares.append(len(share))
            argv = [sys.executable, "-m", "bench.idle_memory", "--worker", url, str(path), f"127.0.0.{i + 1}"]
            if deflate:
                argv.append("--deflate")
            self.procs.append(subprocess.Popen(argv, cwd=common.ROOT, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, text=True, bufsize=1))

    def _ask(self, commands: list[str]) -> list[str]:
        for proc, command in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            answers.append(proc.stdout.readline().strip())
        return answers

    def open(self, total: int) -> tuple[int, int]:
        """Open `total` more sockets, spread over the processes; (opened, failed)."""
        n = len(self.procs)
        answers = self._ask([f"open {total // n + (1 if i < total % n else 0)}" for i in range(n)])
        opened = sum(int(a.split()[1]) for a in answers if a.startswith("opened"))
        failed = sum(int(a.split()[2]) for a in answers if a.startswith("opened"))
        return opened, failed

    def alive(self) -> int:
        return sum(int(a.split()[1]) for a in self._ask(["alive"] * len(self.procs)) if a.startswith("alive"))

    def quit(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- the measurement --------------------------------------------------------------------------

def settle(server: common.Server, limit: float = 60.0) -> None:
    """Wait for the server to go quiet (accepting and welcoming done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1)
        if server.cpu_seconds() - before < 0.05:
            return


def measure(server: common.Server, members: list[tuple[str, dict[str, str]]], args: argparse.Namespace,
            folder: Path) -> dict[str, Any]:
    server.start()
    clients = Clients(server.ws_url, members, args.processes, folder, args.deflate)
    try:
        time.sleep(1)
        rss_empty = server.rss()
        opened, failed = clients.open(WARM_UP)
        settle(server)
        server.pin_helpers()
        rss_before = server.rss()
        started = time.monotonic()
        more, more_failed = clients.open(args.sockets)
        took = time.monotonic() - started
        settle(server)
        time.sleep(args.hold)  # idle through at least one keepalive ping
        settle(server)
        rss_after = server.rss()
        alive = clients.alive()
    finally:
        clients.quit()
        server.stop()
    per_socket = (rss_after - rss_before) / max(1, more)
    print(f"  {server.name:<14} {more:>6} sockets opened in {took:5.1f} s ({more_failed} failed), "
          f"{alive - opened} still open after {args.hold:.0f} s idle; RSS {rss_empty / 2**20:6.1f} MiB "
          f"empty, {rss_before / 2**20:6.1f} MiB after {opened} warm-up, {rss_after / 2**20:6.1f} MiB "
          f"after all: {per_socket / 1024:5.1f} KiB per socket", flush=True)
    return {"sockets": more, "failed": more_failed + failed, "alive": alive - opened,
            "rss_empty": rss_empty, "rss_before": rss_before, "rss_after": rss_after,
            "kib_per_socket": per_socket / 1024, "open_seconds": took}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Idle socket memory, Cairn beside the bare relay.")
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--processes", type=int, default=4, help="client processes (one source address each)")
    parser.add_argument("--hold", type=float, default=12.0, help="seconds idle before the last reading")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on, for both servers")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("URL", "MEMBERS", "LOCAL_ADDR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    # A terminated run still stops its servers and drops its databases (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    common.pin_to(common.LOAD_CORE)
    common.raise_open_files(args.sockets + 4096)
    if args.worker:
        url, members_file, local_addr = args.worker
        asyncio.run(worker(url, json.loads(Path(members_file).read_text()), local_addr, args.deflate))
        return 0

    total = args.sockets + WARM_UP
    groups = -(-total // args.group_size)
    print(f"machine: {common.machine()}")
    print(f"{args.sockets} idle sockets (+{WARM_UP} warm-up) in groups of {args.group_size}, "
          f"{args.processes} client processes; compression {'on' if args.deflate else 'off'}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="cairn-idle-"))
    results: list[dict[str, Any]] = []
    try:
        for run_no in range(1, args.repeat + 1):
            print(f"\n-- run {run_no} --", flush=True)
            relay_members = [(f"/ws/rooms/r{i // args.group_size}", {}) for i in range(total)]
            relay = measure(common.relay_server(folder, deflate=args.deflate), relay_members, args, folder)
            db = common.create_database(args.db)
            try:
                seeded = asyncio.run(common.seed(db.url, groups, args.group_size))
                cairn_members = [(f"/ws/groups/{g.group_id}", {"Authorization": f"Bearer {m.token}"})
                                 for g in seeded for m in g.members][:total]
                cairn = measure(common.cairn_server(db.url, folder, deflate=args.deflate), cairn_members,
                                args, folder)
            finally:
                db.drop()
            ratio = cairn["kib_per_socket"] / relay["kib_per_socket"]
            print(f"  ratio cairn/relay per socket: {ratio:.2f} (target <= 1.25)", flush=True)
            results.append({"relay": relay, "cairn": cairn, "ratio": ratio})
        relay_kib = common.median([r["relay"]["kib_per_socket"] for r in results])
        cairn_kib = common.median([r["cairn"]["kib_per_socket"] for r in results])
        ratio = common.median([r["ratio"] for r in results])
        print(f"\n== summary: medians of {len(results)} run(s) ==\n"
              f"  relay {relay_kib:.1f} KiB per idle socket, Cairn on {args.db} {cairn_kib:.1f} KiB; "
              f"ratio {ratio:.2f} (target <= 1.25)")
        if args.json:
            args.json.write_text(json.dumps({"machine": common.machine(), "args": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "runs": results}, indent=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
