"""Every API error is JSON {"error": <code>, "detail": <sentence>} with a fitting status, never a 500."""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.usefixtures("contract_kept")


def assert_contract_error(r, status: int, code: str | None = None) -> None:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"].replace("_", "").isalpha() and body["error"].islower(), body
    if code:
        assert body["error"] == code
    detail = body["detail"]
    assert detail[0].isupper() and detail.rstrip()[-1] in ".!?", f"not a sentence: {detail!r}"
    assert "Traceback" not in detail and "sqlalchemy" not in detail.lower()


async def test_error_shape_for_401_403_404_409_410_429(clients):
    mod, member = await clients.member("errmod"), await clients.member("errmember")
    g = await clients.group(mod, member)
    gid = g["id"]
    c = clients.anonymous()

    assert_contract_error(await c.get("/api/v1/me"), 401, "not_signed_in")
    assert_contract_error(await c.get(f"/api/v1/groups/{gid}"), 401)
    assert_contract_error(await member.post(f"/api/v1/groups/{gid}/invites", {}), 403)
    assert_contract_error(await member.delete(f"/api/v1/groups/{gid}/members/{mod.id}"), 403)
    assert_contract_error(await mod.get(f"/api/v1/groups/{gid + 1}"), 404)
    assert_contract_error(await mod.post("/api/v1/commitments/4242/checkin", {"status": "done"}), 404)
    assert_contract_error(await mod.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_contract_error(await c.post("/api/v1/auth/register", json={
        "username": "errmod", "password": "another long phrase"}), 409, "username_taken")
    for _ in range(3):
        assert (await mod.post(f"/api/v1/groups/{gid}/commitments",
                               {"category": "rest", "text": "Nap"})).status_code == 201
    assert_contract_error(await mod.post(f"/api/v1/groups/{gid}/commitments",
                                         {"category": "rest", "text": "Nap"}), 409)
    assert (await mod.delete(f"/api/v1/groups/{gid}/invites/{g['invite_code']}")).status_code == 204
    newcomer = clients.anonymous()
    assert (await newcomer.post("/api/v1/auth/register", json={
        "username": "newcomer", "password": "a long quiet phrase"})).status_code == 201
    token = (await newcomer.post("/api/v1/auth/login", json={
        "username": "newcomer", "password": "a long quiet phrase"})).json()["token"]
    newcomer.headers["Authorization"] = f"Bearer {token}"
    assert_contract_error(await newcomer.post("/api/v1/groups/join", json={
        "invite_code": g["invite_code"], "accept_agreement": True}), 410)

    for _ in range(5):
        assert_contract_error(await c.post("/api/v1/auth/login", json={
            "username": "ghost", "password": "boo boo boo boo"}), 401)
    r = await c.post("/api/v1/auth/login", json={"username": "ghost", "password": "boo boo boo boo"})
    assert_contract_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


async def test_other_client_mistakes_are_4xx_with_the_same_shape(clients):
    m = await clients.member()
    r = await m.client.post("/api/v1/groups", content=b"{not json", headers={"content-type": "application/json"})
    support.assert_error(r, r.status_code)
    assert r.status_code in (400, 422)
    support.assert_error(await m.client.put("/api/v1/groups"), 405)
    support.assert_error(await m.post("/api/v1/groups", {"name": "x" * 100_000}), 413)
    support.assert_error(await m.post("/api/v1/groups/join", {"invite_code": "X"}), 400, "agreement_required")
    r = support.assert_error(await m.post("/api/v1/groups", {"capacity": 99}), 422)
    assert r["detail"]


async def test_ids_out_of_every_range_are_4xx(clients):
    """int() refuses more than 4,300 digits (a 500 the form fuzzer found on pages)."""
    m = await clients.member()
    g = await clients.group(m)
    huge = "9" * 5000
    for url in (f"/api/v1/groups/{huge}", f"/api/v1/groups/{g['id']}/commitments/{huge}"):
        r = await m.get(url)
        assert 400 <= r.status_code < 500, (url[:40], r.status_code)
