"""The group's day, one view per thing: the page and the live fragments draw each card,
check-in, encouragement, member row, notice and room banner with the same macros
(web/templates/groups/_day.html), from the same small views built here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup, escape

from server import i18n
from server.commitments import service as commitments
from server.encouragements.service import Received
from server.events import Kind
from server.i18n import N_
from server.models.encouragements import KINDS
from server.models.encouragements import TEXT_MAX as ENCOURAGEMENT_MAX
from server.realtime import fragments
from server.realtime.fragments import Audience, Shown, Swap, swap
from server.web import macros

# The cheers' words (marked, said in the reader's language by the templates), by stored value.
KIND_NAMES = {str(k): v for k, v in KINDS.items()}


@dataclass(frozen=True)
class Reader:
    """What the markup depends on about its reader (never their name or id)."""

    gid: int
    day: str
    moderator: bool
    receive_only: bool
    muted: bool = False
    # A card's form drawn open: its panel's id ("c12-encourage"), and when a form comes back
    # with an error, what was typed and what went wrong.
    open: str | None = None
    values: dict[str, Any] | None = None
    error: str | None = None
    kinds: dict[str, str] = field(default_factory=lambda: KIND_NAMES)
    text_max: int = commitments.TEXT_MAX
    note_max: int = commitments.NOTE_MAX
    encouragement_max: int = ENCOURAGEMENT_MAX

    @property
    def open_card(self) -> int | None:
        """The card whose form is drawn open ("c12-encourage": 12): every other card of the
        day skips its forms with this one test."""
        if not self.open:
            return None
        card = self.open[1:].partition("-")[0]
        return int(card) if card.isdigit() else None


@dataclass(frozen=True)
class CheckinView:
    id: int
    status: str
    note: str | None      # None when there is none or it is hidden from this reader
    note_hidden: bool     # a moderator hid the note (and not the whole commitment)


@dataclass(frozen=True)
class ReceivedView:
    id: int
    kind: str
    sender: str | None  # None once the sender's account is gone ("a former member")
    text: str | None
    hidden: bool


@dataclass(frozen=True)
class Card:
    id: int
    user_id: int
    day: str
    step: str
    category: str
    author: str
    own: bool
    text: str | None      # None when hidden from this reader
    hidden: bool = False  # hidden by a moderator (its author reads why)
    hidden_reason: str | None = None  # for its author
    private: bool = False
    checkin: CheckinView | None = None
    received: list[ReceivedView] = field(default_factory=list)
    form_note: str | None = None  # the author's own check-in, to change it
    feeling: int | None = None
    # The writer's day, when it is not the reader's: the card says its weekday ("Their Tuesday").
    their_day: dt.date | None = None
    # Its author may still change its words: nobody has responded to it yet.
    editable: bool = False


def _day(language: str = i18n.SOURCE) -> Any:
    """The group's day macros in one language."""
    return macros("groups/_day.html", language)


def _said(audience: Audience, message: str, **params: Any) -> str:
    """A message marked with N_ in the audience's language, its values put in after."""
    return i18n.gettext(audience.language, message, **params)


def _marked(audience: Audience, message: str, **words: str) -> Markup:
    """A message marked with N_ in the audience's language, as markup whose values are what
    members wrote (names, reasons), each in an element of its own (`data-member-words`)."""
    return escape(i18n.installed().gettext(audience.language, message)) % {
        name: Markup("<span data-member-words>%s</span>") % value for name, value in words.items()}


# -- the page ---------------------------------------------------------------------------------

def card_of(entry: commitments.Entry, received: list[Received], reader_day: dt.date) -> Card:
    """The card as its reader sees it on their group's day `reader_day`; its author is offered
    to edit its words while they are not kept (Entry.locked)."""
    c, ch = entry.commitment, entry.checkin
    checkin = None
    if ch is not None:
        note_hidden = entry.checkin_hidden is not None and entry.hidden is None and bool(ch.note)
        checkin = CheckinView(ch.id, ch.status, entry.note, note_hidden)
    return Card(
        id=c.id, user_id=c.user_id, day=c.day.isoformat(), step=c.step, category=c.category,
        author=entry.author.display_name, own=entry.own, text=entry.text,
        hidden=entry.hidden is not None, hidden_reason=entry.hidden_reason,
        private=c.visibility == "private", checkin=checkin,
        received=[received_of(r) for r in received],
        form_note=ch.note if ch and entry.own else None,
        feeling=ch.feeling if ch and entry.own else None,
        their_day=None if c.day == reader_day else c.day, editable=entry.own and not entry.locked)


def received_of(r: Received) -> ReceivedView:
    e = r.encouragement
    return ReceivedView(e.id, e.kind, r.sender.display_name if r.sender else None, r.text, r.hidden)


# -- live -------------------------------------------------------------------------------------

def _reader(shown: Shown, audience: Audience) -> Reader:
    return Reader(shown.group_id, str(shown.data.get("day", "")), audience.moderator,
                  audience.receive_only)


def _name(shown: Shown, audience: Audience, fallback: str = N_("A member")) -> str:
    return shown.actor_name or _said(audience, fallback)


def _card_of_event(shown: Shown, audience: Audience) -> Card:
    d = shown.data
    checkin = None
    if d.get("checkin_id"):
        hidden_note = bool(d.get("hidden")) and d.get("text") is not None and d.get("note") is None
        checkin = CheckinView(d["checkin_id"], d["status"], d.get("note"), hidden_note)
    own = audience.relation == "subject"
    # A card drawn from its creation has had no response yet; one that has since gets
    # its Edit taken away by the event that responded (encouragement_sent, content_hidden).
    return Card(id=d["commitment_id"], user_id=d["user_id"], day=d["day"], step=d["step"],
                category=d["category"], author=_name(shown, audience), own=own,
                text=d.get("text"), checkin=checkin, editable=own and d.get("text") is not None)


def commitment_created(shown: Shown, audience: Audience) -> list[Swap]:
    """The card joins the group's days that show its writer's day so far from their today:
    labelled with its weekday on a page whose own date is another. Not once withdrawn (a
    replay of an older event)."""
    if shown.data.get("withdrawn"):
        return []
    card = _card_of_event(shown, audience)
    reader = _reader(shown, audience)
    day = _day(audience.language)
    # Logged before events said it: such a card was posted for its writer's today.
    shift = int(shown.data.get("days_from_today") or 0)
    pages = f'#commitments[data-days-from-today="{shift}"]'
    return [swap(f'{pages}[data-day="{card.day}"]', "append", day.entry(reader, card)),
            swap(f'{pages}:not([data-day="{card.day}"])', "append",
                 day.entry(reader, replace(card, their_day=dt.date.fromisoformat(card.day)))),
            swap(f'#commitments-empty[data-days-from-today="{shift}"]', "hide")]


def commitment_checked_in(shown: Shown, audience: Audience) -> list[Swap]:
    if shown.data.get("withdrawn"):
        return []
    card = _card_of_event(shown, audience)
    return [swap(f"#c{card.id}-checkin", "replace",
                 _day(audience.language).checkin(_reader(shown, audience), card))]


def commitment_edited(shown: Shown, audience: Audience) -> list[Swap]:
    """The card's new words (none once hidden or withdrawn since: a replay)."""
    d = shown.data
    if d.get("text") is None:
        return []
    return [swap(f"#c{d['commitment_id']}-text", "replace",
                 _day(audience.language).words(d["commitment_id"], d["text"]))]


def commitment_withdrawn(shown: Shown, audience: Audience) -> list[Swap]:
    """The card goes from every page that shows it (day.js says when the day is empty)."""
    return [swap(f"#entry-{shown.data['commitment_id']}", "remove")]


def _not_editable(cid: Any) -> list[Swap]:
    """Someone responded to the author's commitment: its words stay as they are now."""
    return [swap(f'#c{cid} a[href$="?open=edit"]', "remove"), swap(f"#c{cid}-edit", "remove")]


def encouragement_sent(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    if audience.relation != "subject":
        return []
    day = _day(audience.language)
    swaps = [swap("#toasts", "append", day.cheer_toast(_reader(shown, audience), shown.actor_name,
                                                       d.get("kind", ""), d.get("text")))]
    if d.get("commitment_id"):
        cid = d["commitment_id"]
        item = ReceivedView(d["encouragement_id"], d["kind"], shown.actor_name,
                            d.get("text"), bool(d.get("hidden")))
        swaps += [swap(f"#c{cid}-cheers", "append",
                       day.received_item(_reader(shown, audience), item, cid)),
                  swap(f"#c{cid}-received", "show"), *_not_editable(cid)]
    return swaps


def member_joined(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    row = _day(audience.language).member_row(
        _reader(shown, audience), d["user_id"], d.get("display_name") or _name(shown, audience),
        "member", me=audience.relation == "subject")
    return [swap("#member-list", "append", row)]


def member_gone(shown: Shown, audience: Audience) -> list[Swap]:
    return [swap(f"#member-{shown.data['user_id']}", "remove")]


def role_changed(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    day = _day(audience.language)
    swaps = [swap(f"#member-{d['user_id']}-role", "replace", day.role_tag(d["user_id"], d["role"]))]
    if audience.relation == "subject":
        said = (_said(audience, N_("You are now a moderator of this group. Reload the page to see "
                                   "the moderator tools."))
                if d["role"] == "moderator" else
                _said(audience, N_("You are a member of this group again, no longer a moderator.")))
        swaps.append(swap("#toasts", "append", day.toast(said, "room")))
    return swaps


def content_hidden(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    kind, tid = d.get("target_type"), d.get("target_id")
    reader = _reader(shown, audience)
    day = _day(audience.language)
    own = audience.relation == "subject"
    if kind == "commitment":
        if own:
            return [swap(f"#c{tid}-text", "after", day.hidden_for_author(reader, f"c{tid}-hidden")),
                    *_not_editable(tid)]
        return [swap(f"#c{tid}-text", "replace", day.hidden_text(tid)),
                swap(f"#c{tid}-checkin .note", "remove"),
                swap(f"#c{tid}-controls", "remove"),
                swap(f"#c{tid} .card-form", "remove")]
    if kind == "checkin":
        at = f'.checkin[data-checkin-id="{tid}"] > .note'
        if own:
            return [swap(at, "after", day.hidden_for_author(reader, f"ci{tid}-hidden"))]
        return [swap(at, "replace", day.hidden_note())]
    if kind == "encouragement" and not own:
        return [swap(f"#en{tid} > .note", "replace", day.hidden_cheer_note()),
                swap(f"#en{tid}-controls", "remove"),
                swap(f'.card-form[id$="-encouragement-{tid}"]', "remove")]
    return []


def room_opened(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    day = _day(audience.language)
    room = {"id": d["room_id"], "title": d.get("title") or ""}
    swaps = [swap("#room-spot", "replace", day.room_spot(_reader(shown, audience), room))]
    if audience.relation != "actor":
        swaps.append(swap("#toasts", "append", day.room_toast(room["title"])))
    return swaps


def room_ended(shown: Shown, audience: Audience) -> list[Swap]:
    """The spot as a page with no open room draws it (a group has one open room at most)."""
    return [swap("#room-spot", "replace",
                 _day(audience.language).room_spot(_reader(shown, audience), None))]


# What a report is about, each said whole (server.models.moderation.TargetType's values).
_REPORTED = {
    "commitment": N_("New report: %(name)s is worried about a commitment."),
    "checkin": N_("New report: %(name)s is worried about a check-in note."),
    "encouragement": N_("New report: %(name)s is worried about an encouragement note."),
    "scenario": N_("New report: %(name)s is worried about a scenario card."),
    "roleplay_line": N_("New report: %(name)s is worried about a line said in a practice room."),
}


def report_created(shown: Shown, audience: Audience) -> list[Swap]:
    d = shown.data
    about = _REPORTED.get(d.get("target_type", ""), N_("New report: %(name)s is worried about a post."))
    lines = [_marked(audience, about, name=_name(shown, audience))]
    if d.get("reason"):
        lines.append(_marked(audience, N_("Their reason: %(reason)s"), reason=d["reason"]))
    return [swap("#mod-notices", "append",
                 _day(audience.language).mod_notice(_reader(shown, audience), "report", lines, True)),
            swap("[data-open-reports]", "increment")]


def support_concern(shown: Shown, audience: Audience) -> list[Swap]:
    if audience.relation == "subject":
        return []
    who = shown.data.get("display_name")
    lines = [_marked(audience, N_("%(name)s wrote something that suggests they may be having a "
                                  "very hard time."), name=who) if who else
             _marked(audience, N_("Someone in the group wrote something that suggests they may "
                                  "be having a very hard time.")),
             _marked(audience, N_("Cairn has shown them where to find help. Only moderators see "
                                  "this notice. You might check in with them gently."))]
    return [swap("#mod-notices", "append",
                 _day(audience.language).mod_notice(_reader(shown, audience), "concern", lines)),
            swap("#needs-care", "increment")]


def muted(shown: Shown, audience: Audience) -> list[Swap]:
    """The member muted or unmuted is told; day.js rests or wakes their forms."""
    if audience.relation != "subject":
        return []
    said = (_said(audience, N_("A moderator has paused your posting here for a while. You can "
                               "still read along."))
            if shown.kind == Kind.MEMBER_MUTED else
            _said(audience, N_("You can post in this group again.")))
    return [swap("#toasts", "append", _day(audience.language).toast(said, "room"))]


RENDERERS = {
    Kind.COMMITMENT_CREATED: commitment_created, Kind.COMMITMENT_CHECKED_IN: commitment_checked_in,
    Kind.COMMITMENT_EDITED: commitment_edited, Kind.COMMITMENT_WITHDRAWN: commitment_withdrawn,
    Kind.ENCOURAGEMENT_SENT: encouragement_sent, Kind.MEMBER_JOINED: member_joined,
    Kind.MEMBER_LEFT: member_gone, Kind.MEMBER_REMOVED: member_gone,
    Kind.MEMBER_ROLE_CHANGED: role_changed, Kind.MEMBER_MUTED: muted, Kind.MEMBER_UNMUTED: muted,
    Kind.CONTENT_HIDDEN: content_hidden,
    Kind.ROLEPLAY_OPENED: room_opened, Kind.ROLEPLAY_ENDED: room_ended,
    Kind.REPORT_CREATED: report_created, Kind.SUPPORT_CONCERN: support_concern,
}


def register() -> None:
    for kind, renderer in RENDERERS.items():
        fragments.register(kind, renderer)
