"""What one password check costs: argon2id with Cairn's parameters, hashing and verifying;
and what recovery codes cost: a sign-up's set of them, and one try of a code.

    python -m bench.passwords            # 20 of each; prints medians
"""

from __future__ import annotations

import argparse
import time

from bench.common import median
from server.accounts import recovery
from server.accounts.passwords import _first_match, _hash_all, code_context, context


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
    sets, tries = [], []
    for _ in range(args.times):
        codes = [recovery.new_code() for _ in range(recovery.RECOVERY_CODES)]
        started = time.perf_counter()
        stored_codes = _hash_all(codes)
        sets.append(time.perf_counter() - started)
        started = time.perf_counter()
        _first_match(recovery.new_code(), [*stored_codes, stored_codes[0]])
        tries.append(time.perf_counter() - started)
    print(f"codes, argon2id ({code_context.hash('x').split('$')[3]}): a set of "
          f"{recovery.RECOVERY_CODES} hashed in {median(sets) * 1e3:.1f} ms, one try against "
          f"{recovery.CANDIDATES} in {median(tries) * 1e3:.1f} ms (medians over {args.times})")


if __name__ == "__main__":
    main()
