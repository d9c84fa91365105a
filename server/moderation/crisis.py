"""Crisis language: a small curated list of phrases (English and Spanish) that suggest a
member may be in danger, matched on whole words so ordinary words do not trigger it.

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

PHRASES_EN = (
    r"kill(ing)? my ?self", r"end(ing)? (my|it) (life|all)", r"end it all", r"take my (own )?life",
    r"suicid(e|al)", r"want(ed)? to die", r"wish i (was|were) dead", r"better off dead",
    r"don'?t want to (be alive|live|wake up)", r"no reason to live", r"hurt(ing)? my ?self",
    r"harm(ing)? my ?self", r"self[- ]harm(ing)?", r"cut(ting)? my ?self",
    r"overdos(e|ing)", r"can'?t go on", r"can'?t keep going", r"not safe at home",
    r"(he|she|they) (will|is going to) kill me", r"going to hurt me",
)
PHRASES_ES = (
    r"matarme", r"suicidar(me|se)", r"suicidio", r"quitarme la vida", r"quiero morir(me)?",
    r"no quiero (vivir|seguir viviendo|despertar)", r"acabar con (todo|mi vida)",
    r"hacerme dano", r"lastimarme", r"cortarme", r"mejor muert[oa]", r"no puedo mas",
    r"sobredosis", r"me va a matar",
)
_PATTERN = re.compile(r"(?<![\w])(" + "|".join(PHRASES_EN + PHRASES_ES) + r")(?![\w])")
MESSAGE = ("You don't have to carry this alone. If you are thinking about harming yourself or "
           "are not safe, please reach out now to someone who can help.")


def _normalise(text: str) -> str:
    # Lower-case, straight apostrophes, accents folded ("daño" -> "dano"), spaces squeezed.
    text = text.lower().replace("\u2019", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


def detect(*texts: str | None) -> bool:
    return any(_PATTERN.search(_normalise(t)) for t in texts if t)


@lru_cache(maxsize=4)
def _load(path: str | None) -> dict[str, Any]:
    if path:
        return json.loads(Path(path).read_text("utf-8"))
    return json.loads(files("server.data").joinpath("crisis_resources.json").read_text("utf-8"))


def resources(country: str | None = None, path: str | None = None) -> dict[str, Any]:
    """Crisis lines for a country (ISO 3166 alpha-2) or every country, and grounding steps."""
    data = _load(path)
    countries = data["countries"]
    code = (country or "").upper()
    chosen = {code: countries[code]} if code in countries else countries
    return {"general": data["general"], "country": code if code in countries else None,
            "countries": [{"code": c, **v} for c, v in chosen.items()],
            "grounding": data["grounding"]}


def support(path: str | None = None) -> dict[str, Any]:
    """What the writer alone sees beside their post."""
    data = resources(None, path)
    return {"message": MESSAGE, "resources": data["countries"], "general": data["general"],
            "grounding": data["grounding"], "help_page": "/help"}
