"""A sample group for `make demo`: a few people, a day of commitments and some encouragement,
in English or in Spanish (`cairn demo --lang es`): the people's names, the group, their
commitments and notes are written in that language, and each person reads Cairn in it."""

from __future__ import annotations

from dataclasses import dataclass

from server.accounts import service as accounts
from server.commitments import service as commitments
from server.config import Settings
from server.db import Database, transaction
from server.encouragements import service as encouragements
from server.groups import service as groups

PASSWORD = "a quiet river bend"  # noqa: S105 - the demo's published password


@dataclass(frozen=True)
class Sample:
    """What the sample group says, in one language."""

    people: list[tuple[str, str, str]]  # (username, display name, timezone); the first moderates
    group: tuple[str, str]  # (name, description)
    commitments: list[tuple[str, str, str]]  # (username, category, words)
    note: str  # the check-in note on the third commitment
    cheer: str  # the encouragement the last person sends about it


SAMPLES = {
    "en": Sample(
        people=[("robin", "Robin", "Europe/Madrid"), ("sam", "Sam", "America/Los_Angeles"),
                ("ari", "Ari", "Pacific/Auckland"), ("jude", "Jude", "UTC")],
        group=("Tuesday evening circle", "A small circle practising the three steps together."),
        commitments=[
            ("robin", "boundary", "Say no to the extra shift without over-explaining"),
            ("robin", "water", "A glass of water with every meal"),
            ("sam", "rest", "Twenty minutes lying down after work, phone in another room"),
            ("ari", "assertive_communication", "Ask for what I need at dinner instead of hinting"),
            ("jude", "movement", "A slow walk round the park"),
        ],
        note="It helped more than I expected.",
        cheer="Rest counts. Well done."),
    "es": Sample(
        people=[("lucia", "Lucía", "America/Mexico_City"), ("mateo", "Mateo", "America/Bogota"),
                ("valeria", "Valeria", "America/Argentina/Buenos_Aires"),
                ("tomas", "Tomás", "Europe/Madrid")],
        group=("Círculo de los martes", "Un círculo pequeño que practica los tres pasos juntos."),
        commitments=[
            ("lucia", "boundary", "Decir que no al turno extra sin dar mil explicaciones"),
            ("lucia", "water", "Un vaso de agua con cada comida"),
            ("mateo", "rest", "Veinte minutos acostado al volver del trabajo, con el celular en otro cuarto"),
            ("valeria", "assertive_communication", "Pedir lo que necesito en la cena en vez de insinuarlo"),
            ("tomas", "movement", "Una caminata tranquila por el parque"),
        ],
        note="Me ayudó más de lo que esperaba.",
        cheer="Descansar también cuenta. ¡Bien hecho!"),
}
LANGUAGES = tuple(SAMPLES)


async def seed(database_url: str, language: str = "en") -> list[str]:
    """The sample group in `language` (a key of SAMPLES); the usernames made."""
    sample = SAMPLES[language]
    db = Database(Settings(database_url=database_url))
    try:
        async with transaction(db) as session:
            users = {}
            for username, name, tz in sample.people:
                user = await accounts.register(session, username=username, password=PASSWORD,
                                               display_name=name, timezone=tz)
                # Their own setting: Cairn speaks it to them once it offers it.
                user.language = language
                users[username] = user
            first, *others = (p[0] for p in sample.people)
            group, invite = await groups.create_group(
                session, users[first], name=sample.group[0], description=sample.group[1])
            for username in others:
                await groups.join(session, users[username], code=invite.code,
                                  accept_agreement=True)
            made = []
            for username, category, text in sample.commitments:
                made.append(await commitments.create(session, users[username], group.id,
                                                     category=category, text=text))
            checker, last = sample.commitments[2][0], sample.people[-1][0]
            await commitments.check_in(session, users[checker], made[2].id, status="done",
                                       note=sample.note, feeling=4)
            _, membership = await groups.membership_of(session, group.id, users[last].id)
            await encouragements.send(session, users[last], membership, token_hash=None,
                                      kind="rest_counts",
                                      commitment_id=made[2].id, text=sample.cheer)
        return [p[0] for p in sample.people]
    finally:
        await db.dispose()
