"""Checks on free text from members, shared by every service that stores some."""

from __future__ import annotations

from server.errors import Invalid


def unstorable(text: str) -> str | None:
    """Why the text cannot be kept and sent back, or None. PostgreSQL refuses a NUL
    character; a lone surrogate (from a JSON "\\ud800") is no character at all, and a page
    holding one could not be encoded for anyone who reads it."""
    if "\x00" in text:
        return "cannot contain a NUL character"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "cannot contain a broken character"
    return None


def storable(text: str, what: str) -> str:
    """The text, if every database can keep it and every page can show it; refused the same
    way on SQLite and PostgreSQL, so a client gets a 422 and never a 503 or a 500."""
    why = unstorable(text)
    if why is not None:
        raise Invalid(f"{what} {why}.", code="invalid_text")
    return text
