"""The static files under /static: pages load each one by a name that carries a hash of its
content, cached for a year; its plain name keeps working, cached briefly.

`static_url("css/cairn.css")` is `/static/css/cairn.<hash>.css`. A new release changes the
hash of every file it changes, so a browser fetches exactly those and keeps the rest, and a
cache never holds an old file under a name a new page asks for. The plain names are for
what must keep its address: the icons the manifest, the pages' `<link rel="icon">` and
notifications name (a home screen keeps them), and anything an old page still asks for.

A hashed name the process does not know, an older or a newer release's, is not found
(404): serving today's bytes under another release's name would put the wrong file in
every cache for a year. During a rolling upgrade the proxy asks the other process for it
(deploy/nginx.conf).

Names are computed once, when the app is made, from the files as they are then.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path, PurePosixPath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.config import ROOT

PREFIX = "/static/"
DIRECTORY = ROOT / "web" / "static"
HASH_LENGTH = 12  # hex digits of SHA-256: collisions between two releases' files are not a worry
IMMUTABLE = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=300"


def hashed_name(name: str, content: bytes) -> str:
    """`css/cairn.css` with these bytes -> `css/cairn.<hash>.css`."""
    path = PurePosixPath(name)
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


class Assets(StaticFiles):
    """The static files, under their hashed names (cached for a year) and their plain ones
    (cached for a few minutes)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=str(directory))
        self.hashed: dict[str, str] = {}  # plain name -> hashed name
        self.plain: dict[str, str] = {}   # hashed name -> plain name
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                name = path.relative_to(directory).as_posix()
                self.hashed[name] = hashed_name(name, path.read_bytes())
                self.plain[self.hashed[name]] = name

    def url(self, name: str) -> str:
        """The address pages load a static file by: its content's hash in its name."""
        try:
            return PREFIX + self.hashed[name]
        except KeyError:
            raise LookupError(f"no static file {name!r} under web/static") from None

    async def get_response(self, path: str, scope: Scope) -> Response:
        # `path` is normalised by StaticFiles.get_path (no "..", no leading slash), and on
        # POSIX separated by "/" as the names here are.
        plain = self.plain.get(path)
        response = await super().get_response(plain or path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE if plain else BRIEFLY
        return response


@functools.cache
def assets() -> Assets:
    """Web/static's files and their names, read once per process."""
    return Assets(DIRECTORY)


def static_url(name: str) -> str:
    """The address of web/static/`name` with its content's hash (a template global)."""
    return assets().url(name)
