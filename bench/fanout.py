"""Fan-out benchmark: Cairn's group sockets beside a bare relay on the same stack.

N sockets in groups (default 1,000 sockets, 100 groups of 10); in each group one sender
posts persisted encouragements (`{"type": "encourage", ...}`) at a set rate and every
other member records the time from send to receipt. The same load runs against the bare
relay (bench/relay.py: FastAPI + uvicorn, no auth, no database) in the same run, as the
floor. The server (and, on PostgreSQL, its database backends) is pinned to core 0 and
this load process to core 1.

Two modes, both by default, each on fresh server processes and a fresh database:
  fixed rate   every sender at --rate events/s (100 groups x 10 events/s x 9 receivers
               = 9,000 deliveries/s offered) for --duration seconds;
  saturation   the rate per sender doubles from --sat-start until a step is not
               sustained (loss, a backlog, or p99 over --max-p99-ms), then bisects;
               the highest sustained deliveries/s is reported.

    python -m bench.fanout                                        # the full run
    python -m bench.fanout --db sqlite --duration 10 --step-duration 5 --bisect 1   # short
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import websockets

from bench import common

perf = time.perf_counter
MARK = '"text":"'
# Cairn's event frame for one bench encouragement is about this long; the relay's frames
# are padded to the same size so both stacks move the same bytes.
CAIRN_FRAME_BYTES = 300


@dataclass
class Step:
    """One stretch of sending at one rate, and what the receivers saw of it."""

    label: str
    rate: float  # events/s per sender
    duration: float
    groups: int
    receivers: int  # per event
    sent: int = 0
    received: int = 0
    out_of_order: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    send_ended: float = 0.0
    last_receipt: float = 0.0
    server_cpu: float = 0.0
    load_cpu: float = 0.0
    other_cpu: float = 0.0  # cores' worth of CPU that other processes on the machine used
    closed: int = 0  # sockets the server closed during the step
    error_codes: Counter[str] = field(default_factory=Counter)
    new_backends: int = 0  # PostgreSQL backends that appeared during the step (pool churn)
    # CPU seconds from the step's start until its last delivery (or the drain's end): the
    # server process's own, and its database backends'
    process_cpu_s: float = 0.0
    database_cpu_s: float = 0.0

    @property
    def expected(self) -> int:
        return self.sent * self.receivers

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        span = max(self.last_receipt, self.send_ended) - self.started
        return {
            "label": self.label, "rate_per_sender": self.rate, "duration": self.duration,
            "target_deliveries_per_s": self.rate * self.groups * self.receivers,
            "offered_deliveries_per_s": self.expected / self.duration if self.duration else 0.0,
            "delivered_per_s": self.received / span if span > 0 else 0.0,
            "sent": self.sent, "expected": self.expected, "received": self.received,
            "loss": self.expected - self.received, "out_of_order": self.out_of_order,
            "errors": self.errors, "error_codes": dict(self.error_codes), "closed": self.closed,
            "p50_ms": common.percentile(lat, 50) * 1e3, "p99_ms": common.percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] * 1e3) if lat else float("nan"),
            "server_cpu": self.server_cpu, "load_cpu": self.load_cpu, "other_cpu": self.other_cpu,
            "new_backends": self.new_backends,
            # per event written, its deliveries included
            "process_ms_per_event": self._per_event(self.process_cpu_s),
            "database_ms_per_event": self._per_event(self.database_cpu_s),
        }

    def _per_event(self, cpu_s: float) -> float:
        events = self.received / self.receivers if self.receivers else 0
        return cpu_s * 1e3 / events if events else float("nan")


@dataclass
class Member:
    path: str
    headers: dict[str, str]


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (stolen by the hypervisor included)."""
    t = psutil.cpu_times()
    return sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq", "steal"))


class Load:
    """The sockets of one target (relay or Cairn) and the steps run over them."""

    def __init__(self, server: common.Server, stack: str, groups: list[list[Member]],
                 local_addrs: list[str]) -> None:
        self.server = server
        self.stack = stack
        self.groups = groups
        self.local_addrs = local_addrs
        self.sockets: list[list[Any]] = []
        self.readers: list[asyncio.Task[None]] = []
        self.steps: list[Step] = []
        self.closed: Counter[str] = Counter()
        self.me = psutil.Process()

    # -- sockets ---------------------------------------------------------------------------

    async def connect(self, concurrency: int = 100) -> float:
        gate = asyncio.Semaphore(concurrency)
        started = perf()
        count = 0

        async def one(member: Member) -> Any:
            nonlocal count
            async with gate:
                local = self.local_addrs[count % len(self.local_addrs)]
                count += 1
                ws = await websockets.connect(
                    self.server.ws_url + member.path, additional_headers=member.headers,
                    compression=None, open_timeout=60, max_queue=None, ping_interval=None,
                    local_addr=(local, 0))
                if self.stack != "relay":
                    welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if welcome.get("type") != "welcome":
                        raise RuntimeError(f"expected a welcome frame, got {welcome}")
                return ws

        for members in self.groups:
            self.sockets.append(list(await asyncio.gather(*(one(m) for m in members))))
        for g, sockets in enumerate(self.sockets):
            for i, ws in enumerate(sockets):
                self.readers.append(asyncio.create_task(self._read(ws, g, sender=(i == 0))))
        await asyncio.sleep(1)  # let presence frames settle
        self.server.pin_helpers()
        return perf() - started

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        for task in self.readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.readers.clear()

        async def shut(ws: Any) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

        flat = [ws for sockets in self.sockets for ws in sockets]
        for i in range(0, len(flat), 500):
            await asyncio.gather(*(shut(ws) for ws in flat[i:i + 500]))
        self.sockets.clear()

    async def reconnect_if_closed(self) -> None:
        if any(task.done() for task in self.readers):
            print(f"  ({sum(t.done() for t in self.readers)} sockets were closed: reconnecting all)",
                  flush=True)
            await self.close()
            await self.connect()

    async def _read(self, ws: Any, group: int, *, sender: bool) -> None:
        """Record the latency of every bench event this socket receives."""
        steps = self.steps
        last_step, last_eid = -1, -1
        try:
            async for message in ws:
                now = perf()
                i = message.find(MARK)
                if i < 0:
                    if steps and ('"type": "error"' in message or '"type":"error"' in message):
                        steps[-1].errors += 1
                        steps[-1].error_codes[json.loads(message).get("code", "?")] += 1
                    continue
                i += len(MARK)
                step_no, eid, sent_at = message[i:message.index('"', i)].split(" ")
                if sender:
                    continue  # its own echo
                n = int(step_no)
                step = steps[n]
                eid_n = int(eid)
                if n == last_step and eid_n <= last_eid:
                    step.out_of_order += 1
                    continue
                last_step, last_eid = n, eid_n
                step.received += 1
                step.latencies.append(now - float(sent_at))
                step.last_receipt = now
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            reason = closed.rcvd.reason if closed.rcvd else "no close frame"
            self.closed[f"{code} {reason}".strip()] += 1
            if steps:
                steps[-1].closed += 1

    # -- steps -----------------------------------------------------------------------------

    def _command(self, step_no: int, eid: int) -> str:
        text = f"{step_no} {eid} {perf():.6f}"
        command = f'{{"type":"encourage","kind":"with_you","text":"{text}"}}'
        if self.stack == "relay":  # pad to the size of Cairn's event frame
            command = command[:-1] + ',"pad":"' + "x" * max(0, CAIRN_FRAME_BYTES - len(command) - 9) + '"}'
        return command

    async def _send(self, ws: Any, step_no: int, step: Step, start: float, end: float) -> None:
        interval = 1.0 / step.rate
        at = start + random.uniform(0, interval)  # spread the senders over the interval
        eid = 0
        while at < end:
            delay = at - perf()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await ws.send(self._command(step_no, eid))
            except websockets.ConnectionClosed:
                return  # counted by its reader; what it did not send is not expected
            step.sent += 1
            eid += 1
            at += interval

    async def settle(self, limit: float = 120.0, idle: float = 0.15) -> None:
        """Wait until the server has worked off what an earlier step left it (CPU under idle)."""
        deadline = perf() + limit
        while perf() < deadline:
            self.server.pin_helpers()
            before = self.server.cpu_seconds()
            await asyncio.sleep(0.5)
            if (self.server.cpu_seconds() - before) / 0.5 < idle:
                return

    async def run_step(self, label: str, rate: float, duration: float, drain: float) -> Step:
        await self.reconnect_if_closed()
        await self.settle()
        step = Step(label, rate, duration, len(self.groups), len(self.groups[0]) - 1)
        step_no = len(self.steps)
        self.steps.append(step)
        parts0 = self.server.cpu_parts()
        cpu0, load0, busy0 = sum(parts0), self._load_cpu(), busy_cpu_seconds()
        backends0 = self.server.helpers_seen()
        step.started = start = perf() + 0.05
        pinning = asyncio.create_task(self._keep_pinning()) if self.server.database_name else None
        await asyncio.gather(*(self._send(sockets[0], step_no, step, start, start + duration)
                               for sockets in self.sockets))
        step.send_ended = perf()
        if pinning:
            pinning.cancel()
        step.new_backends = self.server.helpers_seen() - backends0
        wall = step.send_ended - start
        step.server_cpu = (self.server.cpu_seconds() - cpu0) / wall
        step.load_cpu = (self._load_cpu() - load0) / wall
        step.other_cpu = max(0.0, (busy_cpu_seconds() - busy0) / wall - step.server_cpu - step.load_cpu)
        deadline = perf() + drain
        while step.received < step.expected and perf() < deadline:  # noqa: ASYNC110 - a poll with a deadline
            await asyncio.sleep(0.05)
        parts = self.server.cpu_parts()
        step.process_cpu_s, step.database_cpu_s = parts[0] - parts0[0], parts[1] - parts0[1]
        return step

    async def _keep_pinning(self) -> None:
        while True:
            self.server.pin_helpers()
            await asyncio.sleep(0.5)

    def _load_cpu(self) -> float:
        t = self.me.cpu_times()
        return t.user + t.system


def sustained(s: dict[str, Any], max_p99_ms: float) -> tuple[bool, str]:
    """A step is sustained when nothing is lost, the receivers keep pace with the senders
    (no backlog building up) and the p99 stays under the bound."""
    if s["loss"] or s["errors"] or s["out_of_order"] or s["closed"]:
        return False, (f"loss {s['loss']}, errors {s['errors']} {s.get('error_codes') or ''}, "
                       f"out of order {s['out_of_order']}, sockets closed {s['closed']}")
    # With a few events per sender in a step, whole events make the offered rate jump
    # around the target: judge the load process only when each sender was due ten or more.
    if (s["rate_per_sender"] * s["duration"] >= 10
            and s["offered_deliveries_per_s"] < 0.95 * s["target_deliveries_per_s"]):
        return False, "the load process could not send at the target rate"
    if s["delivered_per_s"] < 0.95 * s["offered_deliveries_per_s"]:
        return False, "deliveries fell behind the senders"
    if s["p99_ms"] > max_p99_ms:
        return False, f"p99 {s['p99_ms']:.0f} ms over {max_p99_ms:.0f} ms"
    return True, ""


def line(name: str, s: dict[str, Any]) -> str:
    return (f"  {name:<26} target {s['target_deliveries_per_s']:>7,.0f}/s  offered "
            f"{s['offered_deliveries_per_s']:>7,.0f}/s  delivered {s['delivered_per_s']:>7,.0f}/s  "
            f"p50 {s['p50_ms']:8.1f} ms  p99 {s['p99_ms']:8.1f} ms  max {s['max_ms']:8.1f} ms  "
            f"loss {s['loss']:>6}  server CPU {s['server_cpu']:4.0%}  load CPU {s['load_cpu']:4.0%}  "
            f"others {s.get('other_cpu', 0.0):4.0%}  CPU per event: process "
            f"{s.get('process_ms_per_event', float('nan')):.3f} ms, database "
            f"{s.get('database_ms_per_event', float('nan')):.3f} ms"
            + (f"  new db backends {s['new_backends']:.0f}" if s.get("new_backends") else ""))


# -- the two modes -------------------------------------------------------------------------

async def measure(server: common.Server, stack: str, groups: list[list[Member]], mode: str,
                  args: argparse.Namespace, profile_to: Path | None) -> dict[str, Any]:
    load = Load(server, stack, groups, args.local_addrs)
    took = await load.connect()
    print(f"  {server.name}: {sum(len(g) for g in groups)} sockets open in {took:.1f} s", flush=True)
    result: dict[str, Any] = {}
    try:
        if mode == "fixed":
            await load.run_step("warm-up", args.rate, args.warmup, args.drain)
            spy = start_profile(server, profile_to, args.duration) if profile_to else None
            step = (await load.run_step("fixed", args.rate, args.duration, args.drain)).summary()
            if spy:
                finish_profile(spy)
            ok, why = sustained(step, args.max_p99_ms)
            step["sustained"], step["why"] = ok, why
            result = step
            print(line(f"{server.name} fixed", step) + ("" if ok else f"  NOT SUSTAINED: {why}"), flush=True)
        else:
            result = await saturate(load, server.name, args)
    finally:
        result["closed_by_server"] = dict(load.closed)
        await load.close()
    return result


async def saturate(load: Load, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Double the rate until a step is not sustained (a failure is tried once more, as the
    machine may be shared), then bisect between the best and the first failing rate."""
    steps: list[dict[str, Any]] = []

    async def attempt(rate: float) -> bool:
        for tries in range(2):
            s = (await load.run_step(f"{rate:g}/s", rate, args.step_duration, args.drain)).summary()
            ok, why = sustained(s, args.max_p99_ms)
            s["sustained"], s["why"] = ok, why
            steps.append(s)
            print(line(f"{name} {rate:g} ev/s/sender", s) + ("" if ok else f"  NOT SUSTAINED: {why}"),
                  flush=True)
            if ok or "load process" in why or tries:
                return ok
        return False

    good, bad, rate = 0.0, 0.0, args.sat_start
    while rate <= args.max_rate:
        if await attempt(rate):
            good, rate = rate, rate * 2
        else:
            bad = rate
            break
    if bad and good:
        for _ in range(args.bisect):
            mid = round((good + bad) / 2, 3)
            if await attempt(mid):
                good = mid
            else:
                bad = mid
    best = max((s for s in steps if s["sustained"]), key=lambda s: s["delivered_per_s"], default=None)
    return {"best_delivered_per_s": best["delivered_per_s"] if best else 0.0,
            "best_load_cpu": best["load_cpu"] if best else 0.0,
            "best_rate_per_sender": best["rate_per_sender"] if best else 0.0,
            "best_p99_ms": best["p99_ms"] if best else float("nan"),
            "best_server_cpu": best["server_cpu"] if best else float("nan"),
            "best_process_ms_per_event": best["process_ms_per_event"] if best else float("nan"),
            "best_database_ms_per_event": best["database_ms_per_event"] if best else float("nan"),
            "first_failure": next((s["why"] for s in steps if not s["sustained"]), ""),
            # the load process could not send, or its core was full: the server's limit is higher
            "load_bound": any("load process" in s["why"] or s["load_cpu"] >= 0.95 for s in steps),
            "steps": steps}


# -- profiling -------------------------------------------------------------------------------

def start_profile(server: common.Server, folder: Path, duration: float) -> subprocess.Popen | None:
    return common.record_stacks(server, folder / f"{server.name}.txt", duration=duration, rate=200)


def finish_profile(spy: subprocess.Popen) -> None:
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.terminate()


# -- the run -------------------------------------------------------------------------------

def relay_groups(count: int, size: int) -> list[list[Member]]:
    return [[Member(f"/ws/rooms/r{g}", {}) for _ in range(size)] for g in range(count)]


def cairn_groups(seeded: list[common.SeededGroup]) -> list[list[Member]]:
    return [[Member(f"/ws/groups/{g.group_id}", {"Authorization": f"Bearer {m.token}"})
             for m in g.members] for g in seeded]


def run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_one(kind: str, stack: str, mode: str, args: argparse.Namespace, workdir: Path,
            run_no: int) -> dict[str, Any]:
    """One mode on one stack: a fresh server process (and for Cairn a fresh database)."""
    if stack == "relay":
        server = common.relay_server(workdir).start()
        try:
            return run_async(measure(server, stack, relay_groups(args.groups, args.group_size), mode,
                                     args, None))
        finally:
            server.stop()
    checkout = args.beside if stack == "before" else common.ROOT
    db = common.create_database(kind, checkout)
    try:
        seeded = asyncio.run(common.seed(db.url, args.groups, args.group_size))
        server = common.cairn_server(db.url, workdir, checkout=checkout).start()
        try:
            profile_to = args.profile / f"run{run_no}-{mode}" if args.profile and mode == "fixed" else None
            return run_async(measure(server, stack, cairn_groups(seeded), mode, args, profile_to))
        finally:
            server.stop()
    finally:
        db.drop()


def ratios(pair: dict[str, Any], stack: str = "cairn") -> dict[str, float]:
    got: dict[str, float] = {}
    r, c = pair.get("relay", {}), pair.get(stack, {})
    if "fixed" in r and "fixed" in c:
        got["p99_ratio"] = c["fixed"]["p99_ms"] / r["fixed"]["p99_ms"]
    if "saturation" in r and "saturation" in c and r["saturation"]["best_delivered_per_s"]:
        got["saturation_ratio"] = (c["saturation"]["best_delivered_per_s"]
                                   / r["saturation"]["best_delivered_per_s"])
        # p99 at the same offered rate, where both sustained it
        relay_steps = {s["rate_per_sender"]: s for s in r["saturation"]["steps"] if s["sustained"]}
        for s in c["saturation"]["steps"]:
            twin = relay_steps.get(s["rate_per_sender"])
            if s["sustained"] and twin:
                got[f"p99_ratio_at_{s['target_deliveries_per_s']:.0f}/s"] = s["p99_ms"] / twin["p99_ms"]
    return got


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n== summary: medians of {args.repeat} run(s) ==")
    keys = ("target_deliveries_per_s", "offered_deliveries_per_s", "delivered_per_s", "p50_ms",
            "p99_ms", "max_ms", "server_cpu", "load_cpu", "other_cpu", "process_ms_per_event",
            "database_ms_per_event")
    for kind in args.db:
        pairs = [r for r in runs if r["db"] == kind]
        print(f"\nCairn on {kind}, beside the relay:")
        for stack in args.order:
            fixed = [p[stack]["fixed"] for p in pairs if "fixed" in p.get(stack, {})]
            if fixed:
                med = {k: common.median([f[k] for f in fixed]) for k in keys}
                med["loss"] = int(common.median([f["loss"] for f in fixed]))
                closed = int(common.median([f["closed"] for f in fixed]))
                print(line(f"{stack} fixed", med) + (f"  sockets closed {closed}" if closed else ""))
            sat = [p[stack]["saturation"] for p in pairs if "saturation" in p.get(stack, {})]
            if sat:
                best = common.median([s["best_delivered_per_s"] for s in sat])
                p99 = common.median([s["best_p99_ms"] for s in sat])
                cpu = common.median([s["best_server_cpu"] for s in sat])
                own = common.median([s["best_process_ms_per_event"] for s in sat])
                database = common.median([s["best_database_ms_per_event"] for s in sat])
                bound = ("  (the load core was full: a lower bound)" if any(s["load_bound"] for s in sat)
                         else "")
                print(f"  {stack + ' saturation':<26} highest sustained {best:>7,.0f} deliveries/s "
                      f"(p99 there {p99:.1f} ms, server CPU {cpu:.0%}; CPU per event there: process "
                      f"{own:.3f} ms, database {database:.3f} ms){bound}")
        notes = {"p99_ratio": "target <= 1.5, cairn/relay at the fixed rate",
                 "saturation_ratio": "target >= 0.5, cairn/relay"}
        for stack in [s for s in args.order if s != "relay"]:
            rs = [ratios(p, stack) for p in pairs]
            for key in sorted({k for r in rs for k in r}, key=lambda k: (k not in notes, k)):
                values = [r[key] for r in rs if key in r]
                label = key if stack == "cairn" else f"{stack}: {key}"
                print(f"  {label:<26} {common.median(values):9.2f}   "
                      f"{notes.get(key, 'cairn/relay, both sustained')}"
                      f"  (runs: {', '.join(f'{v:.2f}' for v in values)})")
        fixed_c = [p["cairn"]["fixed"] for p in pairs if "fixed" in p.get("cairn", {})]
        if fixed_c and not all(f["sustained"] for f in fixed_c):
            print("  note: Cairn did not sustain the fixed rate, so its p99 there measures a growing "
                  "backlog, not a delivery latency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cairn fan-out benchmark beside a bare relay.")
    parser.add_argument("--db", default="sqlite,postgres", type=lambda s: s.split(","),
                        help="databases for Cairn: sqlite, postgres or both (default)")
    parser.add_argument("--mode", default="fixed,saturation", type=lambda s: s.split(","))
    parser.add_argument("--order", default="relay,cairn", type=lambda s: s.split(","),
                        help="stacks, in the order they run")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="events/s per sender at the fixed rate")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the fixed-rate point")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the fixed rate before it")
    parser.add_argument("--drain", type=float, default=10.0,
                        help="seconds to wait after a step for late deliveries before counting loss")
    parser.add_argument("--step-duration", type=float, default=10.0, help="seconds per saturation step")
    parser.add_argument("--sat-start", type=float, default=0.25, help="first events/s per sender")
    parser.add_argument("--bisect", type=int, default=3, help="bisection steps after the doubling")
    parser.add_argument("--max-rate", type=float, default=400.0, help="highest events/s per sender tried")
    parser.add_argument("--max-p99-ms", type=float, default=500.0,
                        help="a step with a higher p99 is not sustained")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the summary gives medians")
    parser.add_argument("--local-addrs", default="127.0.0.1", type=lambda s: s.split(","),
                        help="source addresses for the sockets (spread to avoid port exhaustion)")
    parser.add_argument("--profile", type=Path, help="record py-spy stacks of Cairn's fixed point here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--beside", type=Path,
                        help="another checkout of Cairn, run as the stack `before` in the same run "
                             "(before this checkout's `cairn`), each on a database its own code made")
    args = parser.parse_args(argv)
    if args.beside is not None:
        args.beside = args.beside.resolve()
        if "before" not in args.order:
            args.order.insert(args.order.index("cairn") if "cairn" in args.order else len(args.order),
                              "before")

    # A terminated run still stops its servers and drops its databases (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    common.pin_to(common.LOAD_CORE)
    common.raise_open_files(4 * args.groups * args.group_size + 1024)
    print(f"machine: {common.machine()}")
    print(f"server on core {common.SERVER_CORE}, load on core {common.LOAD_CORE}; "
          f"{args.groups} groups x {args.group_size} sockets; CAIRN_ENCOURAGEMENTS_PER_MINUTE="
          f"{common.ENCOURAGEMENTS_PER_MINUTE}", flush=True)
    if "postgres" in args.db and not common.postgres_available():
        print(f"PostgreSQL is not reachable at {common.POSTGRES_ADMIN_URL} (set CAIRN_BENCH_POSTGRES_URL): "
              "skipping it")
        args.db = [d for d in args.db if d != "postgres"]
    workdir = Path(tempfile.mkdtemp(prefix="cairn-fanout-"))
    runs: list[dict[str, Any]] = []
    try:
        for run_no in range(1, args.repeat + 1):
            for kind in args.db:
                pair: dict[str, Any] = {"db": kind, "run": run_no}
                for mode in args.mode:
                    for stack in args.order:
                        print(f"\n-- run {run_no}, {mode}: {stack}"
                              + (f" on {kind}" if stack != "relay" else " (beside Cairn on " + kind + ")"),
                              flush=True)
                        pair.setdefault(stack, {})[mode] = run_one(kind, stack, mode, args, workdir, run_no)
                runs.append(pair)
                for key, value in ratios(pair).items():
                    print(f"  {key}: {value:.2f}")
        report(runs, args)
        if args.json:
            args.json.write_text(json.dumps({"machine": common.machine(), "args": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "runs": runs}, indent=1, default=str))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
