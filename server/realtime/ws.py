"""/ws/groups/{gid}: the live group socket."""

from fastapi import APIRouter

router = APIRouter()
