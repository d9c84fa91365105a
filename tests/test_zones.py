"""The zone list every zone field offers (server/zones.py): current IANA names only, grouped
by region, UTC once, each one zoneinfo knows; and the pages that show it."""

from __future__ import annotations

import re
import unicodedata

from server import i18n, zones
from tests.fixtures.clients import Clients
from tests.test_pages import create_group, sign_up

REGIONS = ["Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
           "Europe", "Indian Ocean", "Pacific"]
OLD_NAMES = ("US/Pacific", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "America/Buenos_Aires",
             "Asia/Saigon", "GB", "ROC", "Etc/UTC", "Etc/GMT+5", "Etc/GMT-14", "EST5EDT",
             "Universal", "localtime", "posixrules", "Factory")


def test_the_list_has_current_names_only_utc_once():
    names = zones.names()
    assert names[0] == "UTC" and names.count("UTC") == 1
    assert len(names) == len(set(names)) and 300 < len(names) < 500
    assert not set(OLD_NAMES) & set(names)
    assert not [n for n in names[1:] if n.startswith(("Etc/", "US/", "posix/", "right/")) or "/" not in n]
    assert not set(names) & set(zones.aliases()), "an offered name is also listed as an old one"
    assert {"Europe/Berlin", "Asia/Kolkata", "Europe/Kyiv", "America/Argentina/Buenos_Aires",
            "Pacific/Kiritimati", "Pacific/Auckland", "Europe/Amsterdam"} <= set(names)


def test_the_list_is_grouped_by_region_in_order():
    groups = zones.groups()
    assert [label for label, _ in groups] == REGIONS
    grouped = [value for _, items in groups for value, _ in items]
    assert sorted(grouped) == sorted(zones.names()[1:])  # every zone but UTC, once, in a group
    for label, items in groups:
        values = [value for value, _ in items]
        shown = [unicodedata.normalize("NFD", text.casefold()) for _, text in items]
        # In the order a reader looks for them, accents aside ("Belém" before "Belize").
        bare = ["".join(c for c in text if not unicodedata.combining(c)) for text in shown]
        assert bare == sorted(bare), label
        region = "Indian" if label == "Indian Ocean" else label
        assert all(value.startswith(region + "/") for value in values), label
    europe = dict(dict(groups)["Europe"])
    assert europe["Europe/Berlin"] == "Berlin" and europe["Europe/Isle_of_Man"] == "Isle of Man"
    assert dict(dict(groups)["America"])["America/Argentina/Buenos_Aires"] == "Argentina / Buenos Aires"


def test_regions_and_places_are_named_in_the_readers_language(monkeypatch):
    monkeypatch.setattr(i18n, "_installed", [i18n.load()])  # Spanish's catalogue, as built
    groups = dict(zones.groups("es"))
    assert list(groups)[:3] == ["África", "América", "Antártida"] and "Océano Índico" in groups
    america, europe = dict(groups["América"]), dict(groups["Europa"])
    assert america["America/Mexico_City"] == "Ciudad de México"
    assert europe["Europe/London"] == "Londres" and europe["Europe/Berlin"] == "Berlín"
    # Accents aside, in alphabetical order: Ámsterdam among the A's.
    places = [text for _, text in dict(zones.groups("es"))["Europa"]]
    assert places.index("Ámsterdam") < places.index("Andorra") < places.index("Atenas")
    # The same zones in every language, and the English names are as they were.
    assert sorted(v for _, items in zones.groups("es") for v, _ in items) == sorted(zones.names()[1:])
    assert dict(dict(zones.groups("en"))["Europe"])["Europe/Berlin"] == "Berlin"


def test_old_names_a_browser_may_report_lead_to_the_name_offered():
    aliases = zones.aliases()
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata" and aliases["Europe/Kiev"] == "Europe/Kyiv"
    assert aliases["US/Pacific"] == "America/Los_Angeles" and aliases["Etc/UTC"] == "UTC"


def test_the_zone_chosen_is_the_current_name_or_kept_as_it_is():
    assert zones.choices().selected == "UTC" and zones.choices().first == (("UTC", "UTC"),)
    assert zones.choices("Europe/Berlin").selected == "Europe/Berlin"
    # An old name shows as its current one: the same clock, a name the list has.
    assert zones.choices("US/Pacific").selected == "America/Los_Angeles"
    # A zone with no current name stays chosen as it is, so saving the form keeps it.
    kept = zones.choices("Etc/GMT-3")
    assert kept.selected == "Etc/GMT-3" and kept.first == (("Etc/GMT-3", "Etc/GMT-3"), ("UTC", "UTC"))
    assert zones.choices("Mars/Olympus").selected == "UTC"


def _select(html: str, name: str) -> str:
    found = re.search(rf'<select id="[^"]+" name="{name}".*?</select>', html, re.S)
    assert found, name
    return found.group(0)


async def test_signup_settings_and_the_practice_form_offer_the_same_list(clients: Clients):
    anon_page = (await clients.anonymous().get("/signup")).text
    signup = _select(anon_page, "timezone")
    assert "data-zone-detect" in signup and "Asia/Calcutta" in signup  # what the script maps
    assert re.findall(r'<optgroup label="([^"]+)"', signup) == REGIONS
    assert re.findall(r'<option value="UTC"[^>]*>', signup) == ['<option value="UTC" translate="no" selected>']
    offered = re.findall(r'<option value="([^"]+)"', signup)
    assert offered == [*zones.names()[:1], *[v for _, items in zones.groups() for v, _ in items]]
    assert '<label for="f-timezone-find">Find a zone</label>' in anon_page
    assert re.search(r'<div class="zone-find" data-zone-find hidden>', anon_page)  # shown by the script

    # An old name posted by a form or the API is still taken as it is.
    moderator = await sign_up(clients, timezone="US/Pacific")
    assert (await moderator.client.get("/api/v1/me")).json()["timezone"] == "US/Pacific"
    settings = _select((await moderator.get("/settings")).text, "timezone")
    assert "data-zone-detect" not in settings
    assert '<option value="America/Los_Angeles" translate="no" selected>Los Angeles</option>' in settings
    gid, _ = await create_group(moderator)
    practice = _select((await moderator.get(f"/groups/{gid}/practice")).text, "zone")
    assert '<option value="America/Los_Angeles" translate="no" selected>' in practice
    strip = lambda select: re.sub(r" (selected|id=\"[^\"]+\"|name=\"\w+\"|aria-describedby=\"[^\"]+\")", "", select)  # noqa: E731
    assert strip(practice) == strip(settings)
