"""Make the app's PNG icons from their SVG sources in web/static/icons (`make icons`).

The PNGs are committed, so Cairn itself never needs this (nor cairosvg, which it uses: a
test extra). Run it after changing an SVG, and commit what it writes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "web" / "static" / "icons"
# The icon's background, for the one PNG that must have no transparent corners.
BACKGROUND = "#e4efe9"


@dataclass(frozen=True)
class Png:
    name: str
    source: str
    size: int
    # Fill the corners the rounded square leaves transparent: iOS shows them black.
    opaque: bool = False


PNGS = (
    Png("favicon-32.png", "cairn.svg", 32),
    Png("apple-touch-icon.png", "cairn.svg", 180, opaque=True),
    Png("cairn-192.png", "cairn.svg", 192),
    Png("cairn-512.png", "cairn.svg", 512),
    Png("cairn-maskable-192.png", "cairn-maskable.svg", 192),
    Png("cairn-maskable-512.png", "cairn-maskable.svg", 512),
)


def make(folder: Path = ICONS) -> list[Path]:
    import cairosvg  # a test extra: only this command needs it

    written = []
    for png in PNGS:
        target = folder / png.name
        cairosvg.svg2png(url=str(folder / png.source), write_to=str(target),
                         output_width=png.size, output_height=png.size,
                         background_color=BACKGROUND if png.opaque else None)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ICONS, help="where the SVGs are and the PNGs go")
    args = parser.parse_args()
    for path in make(args.folder):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
