"""The time zones a person chooses from, wherever one is chosen: the current IANA names of
places (the tz database's zone.tab, the list it keeps for people to pick from), grouped by
region, and UTC once. Old aliases such as "US/Pacific", "Asia/Calcutta" or "Etc/GMT+5" are
not offered; the ones a browser may still report are mapped to the name offered for them.

A zone the database knows is still accepted wherever one is posted (server.clock.is_timezone):
this is only what is offered."""

from __future__ import annotations

import functools
import unicodedata
import zoneinfo
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from server import clock, formats, i18n
from server.i18n import N_

UTC = "UTC"
# Zones that are UTC under another name (a browser on a server may say "Etc/UTC").
_UTC_NAMES = ("Etc/UTC", "Etc/GMT", "Etc/Universal", "Etc/Zulu", "Etc/UCT", "Etc/Greenwich",
              "GMT", "UCT", "Universal", "Zulu", "Greenwich")

Choice = tuple[str, str]                  # (zone name, what the list shows)
Group = tuple[str, tuple[Choice, ...]]    # (region, its zones)


@dataclass(frozen=True)
class ZoneChoices:
    """What a zone field shows: `first` before any group (UTC, and the member's own zone
    when it is an old name with no current one), the regions' groups, and which is chosen."""

    first: tuple[Choice, ...]
    groups: tuple[Group, ...]
    selected: str


def _read(name: str) -> str | None:
    """A file of the tz database: the tzdata package's (a dependency, so always there), else
    the system's."""
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    for folder in zoneinfo.TZPATH:
        try:
            return (Path(folder) / name).read_text(encoding="utf-8")
        except OSError:
            continue
    return None


@functools.cache
def names() -> tuple[str, ...]:
    """Every zone offered, UTC first, then the rest in order."""
    listed = set()
    for line in (_read("zone.tab") or "").splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#") and clock.is_timezone(fields[2]):
            listed.add(fields[2])
    return (UTC, *sorted(listed))


# The regions of the tz database's names, as their groups are labelled.
_REGION_LABELS = {
    "Africa": N_("Africa"), "America": N_("America"), "Antarctica": N_("Antarctica"),
    "Arctic": N_("Arctic"), "Asia": N_("Asia"), "Atlantic": N_("Atlantic"),
    "Australia": N_("Australia"), "Europe": N_("Europe"), "Indian": N_("Indian Ocean"),
    "Pacific": N_("Pacific"),
}


def _place(name: str, language: str) -> str:
    """A zone's place as the language names it where Babel's data does ("Ciudad de México"),
    else as the tz database does ("Argentina / Buenos Aires")."""
    city = formats.locale(language).time_zones.get(name, {}).get("city")
    if city:
        return str(city)
    return name.partition("/")[2].replace("_", " ").replace("/", " / ")


def _sort_key(label: str) -> str:
    """Alphabetical as a reader expects, accents aside ("Ámsterdam" among the A's)."""
    return "".join(c for c in unicodedata.normalize("NFD", label.casefold())
                   if not unicodedata.combining(c))


@functools.cache
def _places(language: str) -> dict[str, tuple[Choice, ...]]:
    """Each region's zones, their places named in `language`, in its alphabetical order."""
    by_region: dict[str, list[Choice]] = {}
    for name in names()[1:]:
        by_region.setdefault(name.partition("/")[0], []).append((name, _place(name, language)))
    return {region: tuple(sorted(zones, key=lambda choice: _sort_key(choice[1])))
            for region, zones in by_region.items()}


def groups(language: str = i18n.SOURCE) -> tuple[Group, ...]:
    """The regions' groups of zones, in `language`: regions and places named in it."""
    labelled = [(i18n.gettext(language, _REGION_LABELS.get(region, region)), zones)
                for region, zones in _places(language).items()]
    return tuple(sorted(labelled, key=lambda group: _sort_key(group[0])))


@functools.cache
def aliases() -> dict[str, str]:
    """Old or other names of the zones offered, each to the name offered for it."""
    offered = set(names())
    found = {name: UTC for name in _UTC_NAMES}
    for line in (_read("tzdata.zi") or "").splitlines():
        # A link line: "L Asia/Kolkata Asia/Calcutta" (target, then the other name).
        fields = line.split()
        if len(fields) == 3 and fields[0] == "L" and fields[2] not in offered:
            target = UTC if fields[1] in _UTC_NAMES else fields[1]
            if target in offered:
                found[fields[2]] = target
    return found


def current_name(name: str) -> str | None:
    """The name the list offers for this zone: itself, the current name of an old one, or
    None when the list has nothing for it."""
    if name in names():
        return name
    return aliases().get(name)


def choices(selected: str | None = None, language: str = i18n.SOURCE) -> ZoneChoices:
    """The list every zone field shows, with `selected` chosen. A member whose zone is an old
    name sees its current name chosen (the same clock); one the list has no name for, such
    as "Etc/GMT-3", stays chosen as it is, first, so saving the form keeps it."""
    chosen = current_name(selected or UTC)
    first: tuple[Choice, ...] = ((UTC, UTC),)
    if chosen is None:
        if selected and clock.is_timezone(selected):
            first, chosen = ((selected, selected), *first), selected
        else:
            chosen = UTC
    return ZoneChoices(first=first, groups=groups(language), selected=chosen)
