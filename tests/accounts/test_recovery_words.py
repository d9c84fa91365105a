"""The pure parts of a way back in: codes people can read without confusion, and the notice
a member gets after a moderator's reset code."""

from __future__ import annotations

import datetime as dt

import pytest

from server.accounts import recovery
from server.errors import Invalid
from tests.accounts.test_recovery import CODE_RE


def test_codes_are_read_without_confusion():
    assert not set("01ILO") & set(recovery.ALPHABET) and len(recovery.ALPHABET) == 31
    code = recovery.new_code()
    assert CODE_RE.match(recovery.shown(code))
    assert recovery.normalize_code(f" {recovery.shown(code).lower()} ") == code
    assert recovery.normalize_code("abcde fghjk") == "ABCDEFGHJK"
    for bad in ("", "ABCDE", "ABCDE-FGHJK-L", "ABCDE-FGHI0", "ÄBCDE-FGHJK"):
        with pytest.raises(Invalid):
            recovery.normalize_code(bad)


@pytest.mark.parametrize(("by", "group", "words"), [
    ("Sam", "Circle", "made for you by Sam, a moderator of Circle."),
    ("Sam", None, "made for you by Sam."),
    (None, "Circle", "made for you by a former moderator of Circle."),
    (None, None, "made for you by a former moderator."),
])
def test_the_notice_names_who_made_the_code_and_when(by, group, words):
    at = dt.datetime(2026, 3, 3, 13, 5, tzinfo=dt.UTC)
    said = recovery.ResetNotice(by, group, at).words("Europe/Madrid")
    assert said.startswith("Your password was reset on Tuesday 3 March, 14:05 with a one-time code ")
    assert words in said


def test_the_notice_fits_a_flash_message_with_the_longest_names():
    at = dt.datetime(2026, 9, 30, 14, 5, tzinfo=dt.UTC)  # a Wednesday in September
    assert len(recovery.ResetNotice("x" * 40, "y" * 80, at).words("UTC")) <= 300
