"""Cairn's Spanish as a test reads it: what the Spanish catalogue says for an English message,
and what Cairn's Spanish data files hold. A test asserts that a member reading in Spanish sees
these words, so it keeps passing when a translation is reworded and fails, naming the
message, while one is missing."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from server.config import ROOT

PO = ROOT / "server" / "locale" / "es" / "LC_MESSAGES" / "messages.po"
DATA = ROOT / "server" / "data"


@functools.cache
def _catalogue() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def es(english: str, context: str | None = None, **values: Any) -> str:
    """The Spanish for an English message (in `context` if given, else in any), its values put
    in; the singular of a plural message. Fails while the message is missing, empty or fuzzy."""
    for message in _catalogue():
        singular = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if singular != english or (context is not None and message.context != context):
            continue
        string = message.string[0] if isinstance(message.string, tuple | list) else message.string
        assert string and not message.fuzzy, f"not yet translated into Spanish: {english!r}"
        return string % values if values else string
    raise AssertionError(f"not in the Spanish catalogue (run `make messages`): {english!r}")


def data(name: str) -> Any:
    """One of Cairn's data files written in Spanish (server/data/<name>.es.json)."""
    path: Path = DATA / f"{name}.es.json"
    assert path.is_file(), f"no Spanish data file {path.name} yet"
    return json.loads(path.read_text(encoding="utf-8"))
