"""Display names: normalised, without text-reordering controls, never invisible, and never
shared by two active members of a group (compared without regard to case or look-alike
forms): joining asks for another name, and a rename that would collide is refused."""

from __future__ import annotations

import html

import pytest

from server.accounts.names import clean_display_name, name_key
from server.errors import Invalid
from tests.fixtures.clients import Clients
from tests.test_pages import create_group, sign_up

RLO, LRI, PDI, LRM, RLM, ALM = "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"
ZWSP, ZWJ, ZWNJ, WJ, BOM = "\u200b", "\u200d", "\u200c", "\u2060", "\ufeff"


@pytest.mark.parametrize("typed, kept", [
    ("Ｓａｍ", "Sam"),                              # full-width letters: NFKC
    ("ﬁona", "fiona"),                               # a ligature
    (f"{RLO}maS", "maS"),                            # a right-to-left override
    (f"Sam {LRI}R.{PDI}", "Sam R."),                 # isolates
    (f"{LRM}Sam{RLM}{ALM}", "Sam"),                  # marks
    ("\u202a\u202b\u202c\u202dSam\u2067\u2068", "Sam"),
    (f"S{ZWSP}am{WJ}{BOM}", "Sam"),                  # zero-width characters
    ("  Sam   Rivers ", "Sam Rivers"),
    ("👩\u200d👩\u200d👧 Kit", "👩\u200d👩\u200d👧 Kit"),  # joiners stay: emoji need them
    ("e\u0301lan", "\u00e9lan"),                     # composed
])
def test_names_are_kept_normalised(typed: str, kept: str) -> None:
    assert clean_display_name(typed) == kept


@pytest.mark.parametrize("typed", [
    ZWSP, ZWJ, ZWNJ, f"{ZWSP}{ZWJ}{ZWNJ}", f" {ZWSP} ", f"{RLO}{PDI}", f"{LRM}{ZWJ}",
    "\u3164", "\u3164\u3164", "\u2800", "\u115f\u1160", "\u0301", "\u0301\u0302",
    "\u00ad", "\u180e", f"{BOM}{WJ}", "\u00a0\u200b\u3000",
])
def test_names_nobody_can_see_are_refused(typed: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_display_name(typed)
    assert refused.value.code == "invisible_display_name"
    assert refused.value.status == 422
    assert "see" in refused.value.detail


def test_blank_and_long_names_keep_their_message() -> None:
    for typed in ("", "   "):
        with pytest.raises(Invalid, match="1 to 40"):
            clean_display_name(typed)
    with pytest.raises(Invalid, match="1 to 40"):
        clean_display_name("x" * 41)
    assert clean_display_name("Ｘ" * 40) == "X" * 40


@pytest.mark.parametrize("one, other", [
    ("Sam", "sam"), ("Sam", "SAM"), ("Sam", "Ｓａｍ"), ("Sam", "ſam"), ("Sam", f"S{ZWJ}am"),
    ("Sam", f"{RLO}Sam"), ("Straße", "STRASSE"), ("Sam Rivers", "sam  rivers"),
    ("Ωmega", "ωMEGA"), ("ﬁona", "FIONA"),
])
def test_the_same_name_to_a_reader_has_one_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)
    assert name_key(clean_display_name(one)) == name_key(clean_display_name(other))


@pytest.mark.parametrize("one, other", [("Sam", "Sam R."), ("Sam", "Sasha"), ("Kit", "Kat")])
def test_different_names_differ(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


# -- through the API ----------------------------------------------------------------------------

async def test_signing_up_and_renaming_clean_the_name(clients: Clients) -> None:
    anonymous = clients.anonymous()
    r = await anonymous.post("/api/v1/auth/register", json={
        "username": "invisible1", "password": "a quiet river bend", "display_name": f"{ZWSP}{ZWJ}"})
    assert r.status_code == 422 and r.json()["error"] == "invisible_display_name", r.text
    member = await clients.member("cleaned1", display_name=f"{RLO}Ｋｉｔ{PDI}")
    assert member.user["display_name"] == "Kit"
    r = await member.patch("/api/v1/me", {"display_name": "\u3164"})
    assert r.status_code == 422 and r.json()["error"] == "invisible_display_name", r.text


async def member_names(clients: Clients, moderator, gid: int) -> list[str]:
    r = await moderator.get(f"/api/v1/groups/{gid}/members")
    assert r.status_code == 200, r.text
    return sorted(m["display_name"] for m in r.json())


async def test_joining_under_a_name_a_member_goes_by_asks_for_another(clients: Clients) -> None:
    moderator = await clients.member("river1", display_name="Sam")
    group = await clients.group(moderator)
    joiner = await clients.member("river2", display_name="ＳＡＭ")  # "SAM" once kept
    code = group["invite_code"]
    r = await joiner.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "name_taken_in_group"
    assert body["group_id"] == group["id"] and body["display_name"] == "SAM"
    assert "already goes by" in body["detail"] and "another display name" in body["detail"]
    assert await member_names(clients, moderator, group["id"]) == ["Sam"]
    assert (await joiner.get("/api/v1/groups")).json() == []
    # Another name that is the same name to a reader: still refused, nothing changes.
    r = await joiner.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True,
                                                  "display_name": f"s{ZWJ}am"})
    assert r.status_code == 409 and r.json()["error"] == "name_taken_in_group", r.text
    assert (await joiner.get("/api/v1/me")).json()["display_name"] == "SAM"
    r = await joiner.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True,
                                                  "display_name": ZWSP})
    assert r.status_code == 422 and r.json()["error"] == "invisible_display_name", r.text
    # A name of one's own: the profile changes and the join goes through.
    r = await joiner.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True,
                                                  "display_name": "Sam R."})
    assert r.status_code == 200, r.text
    assert (await joiner.get("/api/v1/me")).json()["display_name"] == "Sam R."
    assert await member_names(clients, moderator, group["id"]) == ["Sam", "Sam R."]


async def test_a_new_name_at_joining_must_be_free_in_ones_other_groups_too(clients: Clients) -> None:
    kit = await clients.member("kit1", display_name="Kit")
    alex = await clients.member("alex1", display_name="Alex")
    first = await clients.group(alex, kit, name="First")  # Kit and Alex share a group
    kit2 = await clients.member("kit2", display_name="kit")
    second = await clients.group(kit2, name="Second")
    r = await kit.post("/api/v1/groups/join", {"invite_code": second["invite_code"],
                                               "accept_agreement": True})
    assert r.status_code == 409 and r.json()["group_id"] == second["id"], r.text
    r = await kit.post("/api/v1/groups/join", {"invite_code": second["invite_code"],
                                               "accept_agreement": True, "display_name": "alex"})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "name_taken_in_group" and r.json()["group_id"] == first["id"]
    assert (await kit.get("/api/v1/me")).json()["display_name"] == "Kit"


async def test_only_active_members_hold_a_name(clients: Clients) -> None:
    moderator = await clients.member("holder1", display_name="Moss")
    sam = await clients.member("holder2", display_name="Sam")
    group = await clients.group(moderator, sam)
    assert (await sam.post(f"/api/v1/groups/{group['id']}/leave")).status_code == 204
    other = await clients.member("holder3", display_name="sam")
    r = await other.post("/api/v1/groups/join", {"invite_code": group["invite_code"],
                                                 "accept_agreement": True})
    assert r.status_code == 200, r.text
    # Coming back, the first Sam finds the name taken, and picks another.
    r = await moderator.post(f"/api/v1/groups/{group['id']}/invites", {})
    code = r.json()["code"]
    r = await sam.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True})
    assert r.status_code == 409 and r.json()["error"] == "name_taken_in_group", r.text
    r = await sam.post("/api/v1/groups/join", {"invite_code": code, "accept_agreement": True,
                                               "display_name": "Sam B."})
    assert r.status_code == 200, r.text


async def test_the_join_operation_documents_the_name_conflict(clients: Clients) -> None:
    schema = (await clients.anonymous().get("/openapi.json")).json()
    join = schema["paths"]["/api/v1/groups/join"]["post"]
    assert "409" in join["responses"]
    assert "name_taken_in_group" in join["description"]
    body = schema["components"]["schemas"]["JoinIn"]["properties"]
    assert "display_name" in body


async def test_a_rename_that_would_collide_in_a_group_is_refused_by_the_rule(
        clients: Clients, app) -> None:
    """The rule a rename runs (server.accounts.names.refuse_taken_in_my_groups)."""
    from server.accounts import names
    from server.db import transaction
    from server.errors import Conflict
    from server.models import User

    sam = await clients.member("renamer1", display_name="Sam")
    kit = await clients.member("renamer2", display_name="Kit")
    stranger = await clients.member("renamer3", display_name="Robin")
    group = await clients.group(sam, kit, name="Shared")
    await clients.group(stranger, name="Elsewhere")
    async with transaction(app.state.db) as session:
        user = await session.get(User, kit.id)
        with pytest.raises(Conflict) as refused:
            await names.refuse_taken_in_my_groups(session, user, "ＳＡＭ")
        assert refused.value.code == "name_taken_in_group"
        assert refused.value.extra["group_id"] == group["id"]
        assert "Shared" in refused.value.detail
        await names.refuse_taken_in_my_groups(session, user, "Robin")  # not in her groups
        await names.refuse_taken_in_my_groups(session, user, "kit")  # her own name, recased


async def test_a_rename_that_would_collide_in_a_group_is_refused(clients: Clients) -> None:
    sam = await clients.member("renamer4", display_name="Sam")
    kit = await clients.member("renamer5", display_name="Kit")
    await clients.group(sam, kit)
    r = await kit.patch("/api/v1/me", {"display_name": "sam"})
    assert r.status_code == 409 and r.json()["error"] == "name_taken_in_group", r.text
    assert (await kit.get("/api/v1/me")).json()["display_name"] == "Kit"


# -- through the pages ------------------------------------------------------------------------

async def test_the_join_page_asks_for_another_name_then_joins(clients: Clients) -> None:
    moderator = await sign_up(clients, "pagesam1", display_name="Sam")
    gid, code = await create_group(moderator)
    joiner = await sign_up(clients, "pagesam2", display_name="sam")
    await joiner.get("/groups")
    r = await joiner.submit("/groups/join", {"code": code, "accept_agreement": "yes"})
    assert r.status_code == 409, r.text
    page = html.unescape(r.text)
    assert "already goes by “sam”" in page
    assert 'name="display_name"' in r.text and "Change my name and join" in page
    assert 'name="code"' in r.text and code in r.text  # the code typed stays in the form
    r = await joiner.submit("/groups/join", {"code": code, "accept_agreement": "yes",
                                             "display_name": "SAM"})
    assert r.status_code == 409 and 'name="display_name"' in r.text
    r = await joiner.submit("/groups/join", {"code": code, "accept_agreement": "yes",
                                             "display_name": "Sam from Leeds"})
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}", r.text
    page = await joiner.get(f"/groups/{gid}")
    assert "Sam from Leeds" in html.unescape(page.text)
