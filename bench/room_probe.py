"""`cairn serve` with a statement counter, for bench/room_fanout.py.

Run as a script with the server's checkout as the working directory (so the code served is
that checkout's, whichever it is); every SQL statement any engine in the process executes is
counted, and on SIGUSR1 the count is written to the file named by CAIRN_PROBE_FILE.
"""

from __future__ import annotations

import os
import signal
import sys

sys.path.insert(0, os.getcwd())  # the served checkout first, not this script's folder


def main() -> int:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counted = [0]
    target = os.environ["CAIRN_PROBE_FILE"]

    @event.listens_for(Engine, "before_cursor_execute")
    def count(*_: object) -> None:
        counted[0] += 1

    def report(*_: object) -> None:
        with open(target + ".tmp", "w") as out:
            out.write(str(counted[0]))
        os.replace(target + ".tmp", target)

    signal.signal(signal.SIGUSR1, report)
    from server.cli import main as cairn

    return cairn(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
