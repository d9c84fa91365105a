"""Display names: how a name a member types becomes the name others see."""

from __future__ import annotations

from server.errors import Invalid
from server.text import storable


def clean_display_name(display_name: str) -> str:
    cleaned = storable(" ".join(display_name.split()), "A display name")
    if not 1 <= len(cleaned) <= 40:
        raise Invalid("A display name needs 1 to 40 characters.", code="invalid_display_name")
    return cleaned
