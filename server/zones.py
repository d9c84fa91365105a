"""The time zones a person chooses from, wherever one is chosen: the current IANA names of
places (the tz database's zone.tab, the list it keeps for people to pick from), grouped by
region, and UTC once. Old aliases such as "US/Pacific", "Asia/Calcutta" or "Etc/GMT+5" are
not offered; the ones a browser may still report are mapped to the name offered for them.

A zone the database knows is still accepted wherever one is posted (server.clock.is_timezone):
this is only what is offered."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from server import clock

UTC = "UTC"
# How a region reads as the label of its group; the others read as the database names them.
_REGION_LABELS = {"Indian": "Indian Ocean"}
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


@functools.cache
def groups() -> tuple[Group, ...]:
    by_region: dict[str, list[Choice]] = {}
    for name in names()[1:]:
        region, _, place = name.partition("/")
        by_region.setdefault(region, []).append((name, place.replace("_", " ").replace("/", " / ")))
    return tuple((_REGION_LABELS.get(region, region), tuple(zones))
                 for region, zones in sorted(by_region.items()))


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


def choices(selected: str | None = None) -> ZoneChoices:
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
    return ZoneChoices(first=first, groups=groups(), selected=chosen)
