"""Cairn as an installable app, in a real browser: the service worker installs and looks after
the pages, the manifest has what an install needs, a page that cannot be reached shows the
offline page with the crisis lines, and nothing the worker keeps holds a member's name or words."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from server.app_shell import OFFLINE_PAGE, shell
from server.assets import static_url
from server.i18n import LANGUAGES
from tests.browser.test_foundation_browser import PHONE, SCREENSHOTS, axe_violations, need_chromium
from tests.browser.test_moderation_browser import Browsers, commit, open_day
from tests.realtime.helpers import remote_group, remote_member

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE_AND_DESKTOP = (("phone", PHONE), ("desktop", {"width": 1280, "height": 800}))

# Every CSP violation the page sees, whatever the console says about it.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# Resolves once the page's service worker is active (its install and activate have finished).
WORKER_ACTIVATED = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== "activated") {
    await new Promise((done) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") done();
    }));
  }
  return {scope: registration.scope, script: worker.scriptURL};
}"""

# The manifest as the page links it, and each icon it names, decoded by the browser.
MANIFEST_THROUGH_THE_PAGE = """async () => {
  const href = document.querySelector('link[rel="manifest"]').href;
  const response = await fetch(href);
  const manifest = await response.json();
  const icons = [];
  for (const icon of manifest.icons) {
    const got = await fetch(new URL(icon.src, href));
    const found = {...icon, type_served: got.headers.get("content-type")};
    if (icon.type === "image/png") {  // an SVG decodes at any size
      const bitmap = await createImageBitmap(await got.blob());
      found.width = bitmap.width;
      found.height = bitmap.height;
    }
    icons.push(found);
  }
  return {href, type: response.headers.get("content-type"), manifest, icons};
}"""

# Every entry of every cache the origin has: its URL, its headers and its body.
EVERY_CACHED_ENTRY = """async () => {
  const entries = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    const requests = await cache.keys();
    const responses = await cache.matchAll();  // in the same order as the requests
    if (requests.length !== responses.length) throw new Error("a cache changed while read");
    for (let i = 0; i < responses.length; i++) {
      entries.push({cache: name, url: requests[i].url, served_from: responses[i].url,
                    headers: JSON.stringify([...responses[i].headers]),
                    body: await responses[i].text()});
    }
  }
  return entries;
}"""


async def test_cairn_installs_works_offline_and_keeps_no_ones_words(live_server):
    need_chromium()
    from playwright.async_api import async_playwright, expect

    base = live_server.url
    name, words = "Wrenna Quillfeather", "Ring the allotment society about plot nineteen"
    own_words = "Decline the Saturday overtime gracefully"
    wren = await remote_member(base, display_name=name)
    bea = await remote_member(base)
    gid = (await remote_group(wren, bea))["id"]
    await commit(wren, gid, words)
    async with async_playwright() as p, Browsers(p, base) as b:
        page = await b.page(wren, PHONE)
        await page.context.add_init_script(WATCH_CSP)

        # The first page registers the worker; it installs the shell and takes charge.
        started = time.monotonic()
        await open_day(page, base, gid)
        worker = await page.evaluate(WORKER_ACTIVATED)
        installed_in = time.monotonic() - started
        assert worker == {"scope": f"{base}/", "script": f"{base}/sw.js"}
        await page.reload()
        assert await page.evaluate("navigator.serviceWorker.controller && "
                                   "navigator.serviceWorker.controller.scriptURL") == f"{base}/sw.js"
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

        # The manifest, fetched through the page, has what an install needs.
        got = await page.evaluate(MANIFEST_THROUGH_THE_PAGE)
        manifest = got["manifest"]
        assert got["href"] == f"{base}/manifest.webmanifest" and got["type"] == "application/manifest+json"
        assert manifest["display"] == "standalone" and manifest["name"] == "Cairn"
        scope = manifest["scope"]
        assert manifest["start_url"].startswith(scope)
        assert all(i["type_served"] == i["type"] for i in got["icons"]), got["icons"]
        pngs = {(i["width"], i["purpose"]) for i in got["icons"]
                if i["type"] == "image/png" and i["sizes"] == f"{i['width']}x{i['height']}"}
        assert {(192, "any"), (512, "any"), (512, "maskable")} <= pngs
        # And Chromium itself reads it without an error, and would offer to install Cairn.
        cdp = await page.context.new_cdp_session(page)
        parsed = await cdp.send("Page.getAppManifest")
        assert parsed["url"] == f"{base}/manifest.webmanifest" and parsed["errors"] == []
        # (A test browser's profile is always incognito, where Chromium never installs.)
        installability = await cdp.send("Page.getInstallabilityErrors")
        assert [e["errorId"] for e in installability["installabilityErrors"]] == ["in-incognito"], installability

        # While the worker looks after them, the member posts a commitment of their own and
        # goes through the pages members see.
        await page.get_by_text("Post your commitment for today").click()
        await page.get_by_label("Which kind of care").select_option("boundary")
        await page.get_by_label("What you will do").fill(own_words)
        await page.get_by_role("button", name="Post my commitment").click()
        await expect(page.locator(".flash")).to_be_visible()
        await expect(page.get_by_text(own_words)).to_be_visible()
        for path in ("/groups", "/me/progress", "/settings", "/help", f"/groups/{gid}"):
            await page.goto(base + path)
            await expect(page.locator("footer .signed-in-as")).to_contain_text(name)
        await expect(page.get_by_text(words)).to_be_visible()

        # Nothing the worker keeps holds the member's name or words: only the shell is kept.
        entries = await page.evaluate(EVERY_CACHED_ENTRY)
        # The offline page in each offered language, and which of them to show (the language
        # of the last page that loaded: sw.js's LANGUAGE_KEY, a language code).
        languages = [f"{OFFLINE_PAGE}?lang={code}" for code, lang in LANGUAGES.items() if lang.complete]
        assert {e["url"] for e in entries} == {
            base + path for path in (*shell(), OFFLINE_PAGE, *languages, "/offline-language")}
        chosen = [e for e in entries if e["url"] == base + "/offline-language"]
        assert [e["body"] for e in chosen] == ["en"]  # made by the worker, not fetched
        assert all(e["served_from"] == e["url"] for e in entries if e not in chosen)
        assert len({e["cache"] for e in entries}) == 1 and entries[0]["cache"].startswith("cairn-shell-")
        for entry in entries:
            for secret in (name, words, own_words, wren.user["username"]):
                assert secret not in entry["body"] and secret not in entry["headers"], (entry["url"], secret)
        shell_bytes = sum(len(e["body"].encode()) for e in entries)

        # No connection: a page that cannot be reached shows the offline page, crisis lines
        # and all, at the address the member asked for.
        await page.context.set_offline(True)
        await page.goto(f"{base}/groups/{gid}")
        await expect(page.get_by_role("heading", name="You are offline", level=1)).to_be_visible()
        assert page.url == f"{base}/groups/{gid}"
        # Its style sheet, by the hashed name, came from the worker's cache.
        sheets = await page.evaluate("[...document.styleSheets].map(s => [s.href, s.cssRules.length])")
        assert [href for href, rules in sheets if rules] == [base + static_url("css/cairn.css")], sheets
        lines = page.locator("#lines")
        await expect(lines.get_by_role("heading", name="Crisis lines")).to_be_visible()
        await expect(lines.locator('a[href="tel:116123"]').first).to_be_visible()
        await expect(page.get_by_text("what you wrote is kept on that page and sent when you are back")).to_be_visible()
        await expect(page.locator("footer")).not_to_contain_text(name)
        await page.get_by_role("link", name="Need help now?").click()
        await expect(page.locator("#help")).to_be_in_viewport()
        problems = []
        for label, size in PHONE_AND_DESKTOP:
            await page.set_viewport_size(size)
            if SCREENSHOTS:
                os.makedirs(SCREENSHOTS, exist_ok=True)
                await page.screenshot(path=str(Path(SCREENSHOTS) / f"offline-{label}.png"), full_page=True)
            problems += [f"offline ({label}) {v}" for v in await axe_violations(page)]
        assert not problems, "\n".join(problems)

        # Back online, "Try again" brings the page that could not be reached.
        await page.context.set_offline(False)
        await page.get_by_role("button", name="Try again").click()
        await expect(page.get_by_role("heading", name="Live circle", level=1)).to_be_visible()
        await expect(page.get_by_text(own_words)).to_be_visible()

        assert await page.evaluate("window.cspViolations") == []
    assert b.errors == [] and b.watch.problems == []
    print(f"\nservice worker activated {installed_in:.2f}s after the first page began to load; "
          f"{len(entries)} cached entries, {shell_bytes} bytes")
