"""What finding a request's route costs: the app's routes matched against a page's path and an
API path, as the app's router does for every request, with nothing else served.

    python -m bench.routing                              # this checkout
    python -m bench.routing --beside ../old-checkout     # both, alternately, in one run

Each checkout's app is built in a process of its own, which imports that checkout's code.
Printed: CPU microseconds per request spent matching, the median of --repeat runs of
--requests requests each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench import common

# A page, the page members ask for most, and the group's day through the API.
PATHS = {"group day page": "/groups/1", "progress page": "/me/progress",
         "API day": "/api/v1/groups/1/commitments"}


def _match_once(app: object, path: str) -> None:
    from starlette.routing import Match

    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [],
             "query_string": b"", "app": app}
    for route in app.router.routes:  # type: ignore[attr-defined]
        if route.matches(scope)[0] == Match.FULL:
            return
    raise RuntimeError(f"no route for {path}")


def _one(requests: int) -> dict[str, float]:
    """In this checkout: microseconds per match of each path."""
    os.environ.setdefault("CAIRN_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    from server.main import create_app

    app = create_app()
    out = {}
    for name, path in PATHS.items():
        for _ in range(100):
            _match_once(app, path)
        started = time.process_time()
        for _ in range(requests):
            _match_once(app, path)
        out[name] = 1e6 * (time.process_time() - started) / requests
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="runs; medians are printed")
    parser.add_argument("--beside", type=Path, help="another checkout, measured in the same run")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.requests)))
        return 0
    print(f"machine: {common.machine()}")
    trees = common.checkouts(args.beside)
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
    for _ in range(args.repeat):
        for label, tree in trees.items():
            runs[label].append(common.json_from(tree, [__file__, "--one",
                                                       "--requests", str(args.requests)]))
    print(f"\nmatching a route, µs per request (CPU), medians of {args.repeat} runs:")
    print(f"  {'path':<16} " + " ".join(f"{label:>8}" for label in trees)
          + ("   ratio" if "beside" in trees else ""))
    for name in PATHS:
        medians = {label: common.median([r[name] for r in runs[label]]) for label in trees}
        ratio = f"  {medians['this'] / medians['beside']:>6.2f}" if "beside" in trees else ""
        print(f"  {name:<16} " + " ".join(f"{medians[label]:>8.1f}" for label in trees) + ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
