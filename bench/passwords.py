"""What one password check costs: argon2id with Cairn's parameters, hashing and verifying.

    python -m bench.passwords            # 20 of each; prints medians
"""

from __future__ import annotations

import argparse
import time

from bench.common import median
from server.accounts.passwords import context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    password = "a quiet river bend"  # noqa: S105 - a sample to time, not a secret
    hashes, verifies = [], []
    for _ in range(args.times):
        started = time.perf_counter()
        stored = context.hash(password)
        hashes.append(time.perf_counter() - started)
        started = time.perf_counter()
        context.verify(password, stored)
        verifies.append(time.perf_counter() - started)
    print(f"argon2id ({stored.split('$')[3]}): hash median {median(hashes) * 1e3:.1f} ms, "
          f"verify median {median(verifies) * 1e3:.1f} ms over {args.times} of each, one thread")


if __name__ == "__main__":
    main()
