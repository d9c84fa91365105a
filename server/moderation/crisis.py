"""Crisis language: a curated list of phrases (English and Spanish, direct and indirect
wording; data in server/data/crisis_phrases.json) that suggest a member may be in danger,
matched on whole words so ordinary words do not trigger it.

Cairn never blocks such a post. It gently shows the writer where to find help, and tells
the group's moderators privately that someone may need support.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from server import i18n
from server.i18n import N_


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    """Every phrase of server/data/crisis_phrases.json (direct and indirect wording, English
    and Spanish), as one expression matched on whole words."""
    data = json.loads(files("server.data").joinpath("crisis_phrases.json").read_text("utf-8"))
    phrases = [p for group in ("direct", "indirect") for lang in data[group].values() for p in lang]
    return re.compile(r"(?<![\w])(" + "|".join(phrases) + r")(?![\w])")


MESSAGE = N_("You don't have to carry this alone. If you are thinking about harming yourself "
             "or are not safe, please reach out now to someone who can help.")


def _normalise(text: str) -> str:
    # Lower-case, straight apostrophes, accents folded ("daño" -> "dano"), spaces squeezed.
    text = text.lower().replace("\u2019", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


def detect(*texts: str | None) -> bool:
    return any(_pattern().search(_normalise(t)) for t in texts if t)


SHIPPED = "crisis_resources.json"


def language_file(path: str, language: str) -> str:
    """The file of one language's wording beside an English one: "lines.json" -> "lines.es.json"."""
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}.{language}.{suffix}" if dot else f"{path}.{language}"


@lru_cache(maxsize=8)
def _load(path: str | None, language: str = i18n.SOURCE) -> dict[str, Any]:
    """The crisis lines and grounding steps in one language's wording: its own file beside the
    English one (crisis_resources.es.json), else the English one (a deployment's lines are
    right for its region, whatever their language)."""
    if language != i18n.SOURCE:
        own = language_file(path or SHIPPED, language)
        try:
            return _read(own, shipped=not path)
        except FileNotFoundError:
            pass
    return _read(path or SHIPPED, shipped=not path)


def _read(name: str, *, shipped: bool) -> dict[str, Any]:
    source = files("server.data").joinpath(name) if shipped else Path(name)
    loaded: dict[str, Any] = json.loads(source.read_text("utf-8"))
    return loaded


def resources(country: str | None = None, path: str | None = None,
              language: str = i18n.SOURCE) -> dict[str, Any]:
    """Crisis lines for a country (ISO 3166 alpha-2) or every country, and grounding steps, in
    a language's wording where there is one."""
    data = _load(path, language)
    countries = data["countries"]
    code = (country or "").upper()
    chosen = {code: countries[code]} if code in countries else countries
    return {"general": data["general"], "country": code if code in countries else None,
            "countries": [{"code": c, **v} for c, v in chosen.items()],
            "grounding": data["grounding"]}


def support(path: str | None = None, language: str = i18n.SOURCE) -> dict[str, Any]:
    """What the writer alone sees beside their post, in their language."""
    data = resources(None, path, language)
    return {"message": i18n.gettext(language, MESSAGE), "resources": data["countries"],
            "general": data["general"], "grounding": data["grounding"], "help_page": "/help"}
