"""Retention: prune the event log, role-play history, expired sessions, old sign-in
failures and reset codes that expired unused, on a schedule.

Every process runs the job; each pass is a set of idempotent DELETEs, so two processes
pruning at once do no harm.
"""

from __future__ import annotations

import logging

from server import jobs
from server.accounts import recovery
from server.accounts import service as accounts
from server.db import Database, transaction
from server.realtime import log
from server.reminders import service as reminders
from server.roleplay import service as roleplay

logger = logging.getLogger("cairn.retention")


async def prune_once(db: Database) -> dict[str, int]:
    settings = db.settings
    async with transaction(db) as session:
        events = await log.prune(session, keep=settings.event_retention_count,
                                 days=settings.event_retention_days)
        roleplays = await roleplay.prune(session, days=settings.roleplay_retention_days)
        sessions = await accounts.prune_sessions(session, settings)
        await recovery.prune(session)
        sent = await reminders.prune(session)
    return {"events": events, "roleplay": roleplays, "sessions": sessions, "reminders": sent}


async def run_forever(db: Database) -> None:
    async def prune() -> str:
        return f"pruned {await prune_once(db)}"

    await jobs.every(db.settings.prune_interval_minutes * 60, prune, logger, "retention pass")
