"""Checks on free text from members, shared by every service that stores some."""

from __future__ import annotations

from server.errors import Invalid


def storable(text: str, what: str) -> str:
    """The text, if every database can keep it: PostgreSQL refuses a NUL character.

    Refused the same way on SQLite, so a client gets a 422 and never a 503.
    """
    if "\x00" in text:
        raise Invalid(f"{what} cannot contain a NUL character.", code="invalid_text")
    return text
