"""A sample group for `make demo`: a few people, a day of commitments and some encouragement."""

from __future__ import annotations

from server.accounts import service as accounts
from server.commitments import service as commitments
from server.config import Settings
from server.db import Database, transaction
from server.encouragements import service as encouragements
from server.groups import service as groups

PASSWORD = "a quiet river bend"  # noqa: S105 - the demo's published password
PEOPLE = [("robin", "Robin", "Europe/Madrid"), ("sam", "Sam", "America/Los_Angeles"),
          ("ari", "Ari", "Pacific/Auckland"), ("jude", "Jude", "UTC")]
COMMITMENTS = [
    ("robin", "boundary", "Say no to the extra shift without over-explaining"),
    ("robin", "water", "A glass of water with every meal"),
    ("sam", "rest", "Twenty minutes lying down after work, phone in another room"),
    ("ari", "assertive_communication", "Ask for what I need at dinner instead of hinting"),
    ("jude", "movement", "A slow walk round the park"),
]


async def seed(database_url: str) -> list[str]:
    db = Database(Settings(database_url=database_url))
    try:
        async with transaction(db) as session:
            users = {}
            for username, name, tz in PEOPLE:
                users[username] = await accounts.register(session, username=username,
                                                          password=PASSWORD, display_name=name,
                                                          timezone=tz)
            group, invite = await groups.create_group(
                session, users["robin"], name="Tuesday evening circle",
                description="A small circle practising the three steps together.")
            for username in ("sam", "ari", "jude"):
                await groups.join(session, users[username], code=invite.code,
                                  accept_agreement=True)
            made = []
            for username, category, text in COMMITMENTS:
                made.append(await commitments.create(session, users[username], group.id,
                                                     category=category, text=text))
            await commitments.check_in(session, users["sam"], made[2].id, status="done",
                                       note="It helped more than I expected.", feeling=4)
            _, jude = await groups.membership_of(session, group.id, users["jude"].id)
            await encouragements.send(session, users["jude"], jude, kind="rest_counts",
                                      commitment_id=made[2].id, text="Rest counts. Well done.")
        return [p[0] for p in PEOPLE]
    finally:
        await db.dispose()
