"""After worrying words the next page opens at the writer's help panel, not at the card."""

from __future__ import annotations

from tests.test_pages import create_group, sign_up


async def test_the_page_lands_on_the_help_panel_after_worrying_words(clients):
    """Without JavaScript too: the redirect names the panel, which a browser scrolls to and
    focuses; ordinary words land on the card as before."""
    writer = await sign_up(clients)
    gid, _ = await create_group(writer)
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "rest", "text": "I can't go on like this", "visibility": "group"})
    assert r.headers["location"].endswith("#support")
    page = (await writer.get(r.headers["location"])).text
    assert '<section class="panel panel-urgent support" id="support" tabindex="-1"' in page
    r = await writer.submit(f"/groups/{gid}/commitments",
                            {"category": "rest", "text": "Drink water", "visibility": "group"})
    cid = int(r.headers["location"].rsplit("#c", 1)[1])
    r = await writer.submit(f"/groups/{gid}/commitments/{cid}/checkin",
                            {"status": "partly", "note": "quiero morir hoy"})
    assert r.headers["location"].endswith("#support")
