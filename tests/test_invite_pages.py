"""Invite links (/invite/{code}): the moderator's day shows one per active code; a visitor is
led through sign-up or sign-in and back; joining from it still asks for the agreement; a
link that does not work says why, never with a 500."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from server import clock
from tests.fixtures.clients import PASSWORD, Clients
from tests.test_pages import INVITE_RE, SAVED_RE, Browser, create_group, sign_up

AGREEMENT_BOX = 'name="accept_agreement"'


async def new_code(moderator: Browser, gid: int, form: dict[str, str]) -> str:
    before = set(INVITE_RE.findall((await moderator.get(f"/groups/{gid}")).text))
    assert (await moderator.submit(f"/groups/{gid}/invites", form)).status_code == 303
    (code,) = set(INVITE_RE.findall((await moderator.get(f"/groups/{gid}")).text)) - before
    return code


async def test_the_moderator_sees_a_link_for_each_code(clients: Clients):
    mod = await sign_up(clients)
    gid, code = await create_group(mod)
    page = (await mod.get(f"/groups/{gid}")).text
    assert f'value="http://testserver/invite/{code}" readonly' in page
    assert f'data-copy="invite-link-{code}"' in page  # the Copy button, shown by page.js
    assert re.search(rf'<p class="copy-status small" id="invite-copied-{code}" role="status">', page)


async def test_a_visitor_signs_up_from_the_link_and_joins_after_the_agreement(clients: Clients):
    mod = await sign_up(clients)
    gid, code = await create_group(mod, "Quiet harbour")
    visitor = Browser(clients.anonymous())
    page = (await visitor.get(f"/invite/{code}")).text
    assert "You are invited to a group" in page and "Quiet harbour" not in page  # no name before signing in
    assert f'href="/signup?next={quote(f"/invite/{code}")}"' in page
    assert f'href="/login?next={quote(f"/invite/{code}")}"' in page

    signup = (await visitor.get(f"/signup?next=/invite/{code}")).text
    assert f'name="next" value="/invite/{code}"' in signup
    r = await visitor.submit("/signup", {"username": "newcomer", "display_name": "Newcomer",
                                         "password": PASSWORD, "password_again": PASSWORD,
                                         "timezone": "Europe/Berlin", "next": f"/invite/{code}"})
    assert r.status_code == 200 and SAVED_RE.search(r.text).group(1) == f"/invite/{code}"

    page = (await visitor.get(f"/invite/{code}")).text
    assert "Join Quiet harbour" in page and "What is shared here stays here." in page
    assert AGREEMENT_BOX in page and f'name="code" value="{code}"' in page
    # Not without accepting the agreement.
    r = await visitor.submit("/groups/join", {"code": code})
    assert r.status_code == 400 and "accept the group agreement" in r.text
    r = await visitor.submit("/groups/join", {"code": code, "accept_agreement": "yes"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"
    # Once in, the link leads to the group.
    r = await visitor.get(f"/invite/{code}", ok=False)
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"


async def test_signing_in_from_the_link_comes_back_to_it_and_a_taken_name_is_asked_for(clients: Clients):
    mod = await sign_up(clients, "sam")
    gid, code = await create_group(mod)
    # Someone already called "Sam" elsewhere signs in from the link.
    other = await sign_up(clients, "sam_too", display_name="Sam")
    await other.submit("/logout", {})
    page = (await other.get(f"/login?next=/invite/{code}")).text
    assert f'name="next" value="/invite/{code}"' in page
    assert f'href="/signup?next={quote(f"/invite/{code}")}"' in page
    r = await other.submit("/login", {"username": "sam_too", "password": PASSWORD, "next": f"/invite/{code}"})
    assert r.status_code == 303 and r.headers["location"] == f"/invite/{code}"
    page = (await other.get(f"/invite/{code}")).text
    assert AGREEMENT_BOX in page and 'name="display_name"' in page and "Change my name and join" in page
    r = await other.submit("/groups/join", {"code": code, "accept_agreement": "yes", "display_name": "Sam T"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}"


async def test_a_link_that_does_not_work_says_why(clients: Clients):
    mod = await sign_up(clients)
    gid, code = await create_group(mod)
    visitor, member = Browser(clients.anonymous()), await sign_up(clients)
    for who in (visitor, member):
        for path in ("/invite/NOSUCHCODE", "/invite/" + "A" * 65, "/invite/%20%00", "/invite/---",
                     "/invite/%E2%80%AE", "/invite/" + "x" * 3000):
            r = await who.get(path, ok=False)
            assert r.status_code == 404, (path, r.status_code)
            assert "This invite link does not work" in r.text and "not one we know" in r.text, path
    # A code in lower case or with a dash as someone typed it still works.
    spaced = f"{code[:5].lower()}-{code[5:].lower()}"
    assert "Join Tuesday circle" in (await member.get(f"/invite/{spaced}")).text

    # Spent codes: withdrawn, used up, expired.
    r = await mod.submit(f"/groups/{gid}/invites/{code}/revoke", {})
    assert r.status_code == 303
    r = await member.get(f"/invite/{code}", ok=False)
    assert r.status_code == 410 and "withdrawn" in r.text
    used = await new_code(mod, gid, {"expires_in_days": "10", "max_uses": "1"})
    short = await new_code(mod, gid, {"expires_in_days": "1", "max_uses": ""})
    joiner = await sign_up(clients)
    assert (await joiner.submit("/groups/join", {"code": used, "accept_agreement": "yes"})).status_code == 303
    r = await visitor.get(f"/invite/{used}", ok=False)
    assert r.status_code == 410 and "used up" in r.text
    clock.travel(dt.timedelta(days=2))
    try:
        r = await visitor.get(f"/invite/{short}", ok=False)
        assert r.status_code == 410 and "expired" in r.text
    finally:
        clock.travel(dt.timedelta(0))
