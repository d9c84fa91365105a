"""The colours of Cairn's style sheets are decided in one place: the custom properties of
cairn.css's :root, once for the light theme and once for the dark one a device may prefer.
Every other rule only names them. (That each theme reads well is axe-core's to say, in
tests/browser/test_welcome_browser.py and test_accessibility_browser.py.)"""

from __future__ import annotations

import re

from server.config import ROOT

SHEETS = ("web/static/css/cairn.css", "web/static/css/room.css")
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(")
LIGHT = re.compile(r"^:root\s*{([^}]*)}", re.M)
DARK = re.compile(r"@media \(prefers-color-scheme: dark\)\s*{\s*:root\s*{([^}]*)}\s*}")
# The same in both themes: the connection banner is white on a colour of its own either way.
BOTH_THEMES = {"banner-bg", "banner-back-bg", "banner-text"}


def _properties(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", block))


def test_every_colour_is_a_custom_property_of_both_themes():
    css = (ROOT / SHEETS[0]).read_text()
    light_block, dark_block = LIGHT.search(css), DARK.search(css)
    assert light_block and dark_block
    light, dark = _properties(light_block.group(1)), _properties(dark_block.group(1))
    # Each theme's values are colours themselves, never another property (a cycle is invalid
    # and silently drops every rule that names it).
    assert not [name for name, value in {**light, **dark}.items() if "var(" in value]
    colours = {name for name, value in light.items() if COLOUR.search(value)}
    assert set(dark) <= colours and colours - set(dark) == BOTH_THEMES

    used: set[str] = set()
    for sheet in SHEETS:
        text = (ROOT / sheet).read_text()
        rules = DARK.sub("", LIGHT.sub("", text))
        assert not COLOUR.findall(rules), f"{sheet} names a colour outside the themes"
        # var(--x, fallback) is a length a script sets (--room-bar), not a colour.
        used |= set(re.findall(r"var\(--([\w-]+)\)", text))
    assert used <= set(light), f"named but never defined: {sorted(used - set(light))}"
