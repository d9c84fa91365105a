"""Shared by the hardening tests: what a database holds, read from outside the server."""

from __future__ import annotations

import hashlib
import sqlite3

from sqlalchemy.engine import make_url

# Sign-ins touch these (a session's last use), so only their row counts are compared.
VOLATILE = {"sessions", "login_failures"}


def sqlite_snapshot(database_url: str) -> dict[str, str]:
    """Every table of a SQLite database: a digest of its rows (row count for VOLATILE)."""
    path = make_url(database_url).database
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        snapshot = {}
        for table in sorted(tables):
            if table in VOLATILE:
                snapshot[table] = str(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
                continue
            digest = hashlib.sha256()
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
            snapshot[table] = digest.hexdigest()[:16]
        return snapshot
    finally:
        conn.close()


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
