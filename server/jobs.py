"""What every process does now and then, beside serving: prune, remind, open planned rooms."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable


async def every(seconds: float, job: Callable[[], Awaitable[str | None]], logger: logging.Logger,
                name: str) -> None:
    """Run `job` every `seconds`, forever. Jitter keeps several processes from running it in
    lockstep. What a pass did (its words, when it says any) is logged; a pass that fails is
    logged and tried again at the next one."""
    while True:
        await asyncio.sleep(seconds * random.uniform(0.8, 1.2))
        try:
            said = await job()
        except Exception:
            logger.warning("%s failed", name, exc_info=True)
        else:
            if said:
                logger.info(said)
