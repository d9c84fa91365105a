"""The moderation queue a page at a time: the moderation page and the reports API list 20
reports, newest first, with the way to older and newer ones, so hundreds of reports never make
one huge page."""

from __future__ import annotations

import re

from server import clock
from server.db import transaction
from server.models import Report
from tests.test_pages import create_group, join, post_commitment, sign_up

MANY = 500


async def file_reports(app, gid: int, reporter_id: int, target_id: int, n: int, status: str = "open",
                       first: int = 0) -> None:
    """n reports at once, as many members would have filed them over time (one member may file
    only ten an hour)."""
    async with transaction(app.state.db) as session:
        now = clock.now()
        session.add_all(Report(group_id=gid, reporter_id=reporter_id, target_type="commitment",
                               target_id=target_id, reason=f"Report number {i}.", status=status,
                               created_at=now) for i in range(first, first + n))


async def test_the_reports_api_lists_a_page_at_a_time_newest_first(app, clients):
    mod, author = await clients.member(), await clients.member()
    gid = (await clients.group(mod, author))["id"]
    cid = (await author.post(f"/api/v1/groups/{gid}/commitments", {"category": "rest", "text": "t"})).json()["id"]
    await file_reports(app, gid, author.id, cid, 45)

    seen: list[int] = []
    url = f"/api/v1/groups/{gid}/reports?status=open"
    pages = []
    while url:
        r = await mod.get(url)
        assert r.status_code == 200, r.text
        pages.append(len(r.json()))
        seen += [x["id"] for x in r.json()]
        link = r.headers.get("link")
        url = re.fullmatch(r'<(.+)>; rel="next"', link).group(1) if link else None
    assert pages == [20, 20, 5]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 45
    r = await mod.get(f"/api/v1/groups/{gid}/reports?limit=7&before={seen[10]}")
    assert [x["id"] for x in r.json()] == seen[11:18]
    assert (await mod.get(f"/api/v1/groups/{gid}/reports?limit=0")).status_code == 422


async def test_a_group_with_many_reports_renders_a_page_of_bounded_size(app, clients):
    mod, author = await sign_up(clients), await sign_up(clients)
    gid, code = await create_group(mod)
    assert (await join(author, code)).status_code == 303
    cid = await post_commitment(author, gid, "Drink water")
    author_id = (await author.client.get("/api/v1/me")).json()["id"]
    await file_reports(app, gid, author_id, cid, 25)
    few = (await mod.get(f"/groups/{gid}/moderation")).text
    await file_reports(app, gid, author_id, cid, 100, status="resolved", first=MANY)
    await file_reports(app, gid, author_id, cid, MANY - 25, first=25)
    page = (await mod.get(f"/groups/{gid}/moderation")).text

    assert page.count('class="report-item"') == 20
    assert len(page) < len(few) * 1.2 and len(page) < 120_000, (len(few), len(page))
    assert f'<span class="count">{MANY}</span>' in page  # the heading still counts them all
    assert "Report number 499." in page and "Report number 480." in page
    assert "Report number 479." not in page

    # Older, then newer again, by links the page gives.
    older = re.search(r'<a rel="next" href="(/groups/\d+/moderation\?before=\d+)#reports">Older reports</a>', page)
    assert older and 'rel="prev"' not in page
    second = (await mod.get(older.group(1))).text
    assert second.count('class="report-item"') == 20
    newer = re.search(r'<a rel="prev" href="([^"#]+)#reports">Newer reports</a>', second)
    assert newer and newer.group(1) == f"/groups/{gid}/moderation"
    assert re.findall(r'data-report-id="(\d+)"', (await mod.get(newer.group(1))).text) == re.findall(
        r'data-report-id="(\d+)"', page)
    # A cursor that is not a report id is the first page.
    assert (await mod.get(f"/groups/{gid}/moderation?before=nonsense")).text.count('class="report-item"') == 20
