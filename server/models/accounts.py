"""Members' accounts, their server-side sessions, failed sign-in attempts, and the codes that
let a member back in without their password (recovery codes, a moderator's reset code)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased so "Robin" and "robin" are one account.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    receive_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language pages and error messages are shown in (a code from server/i18n.py).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Their cheers' rate limit (server/encouragements/service.py): when their current minute of
    # cheers began, and how many they asked to send in it.
    cheers_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cheers_counted: Mapped[int] = mapped_column(Integer, server_default="0")


class AuthSession(Base):
    """A signed-in browser or API client. The token itself is never stored, only its hash."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """One failed check of an account's password (sign-in, password change, deletion), or
    one being checked right now; counted by account and by address to slow down guessing
    (server/accounts/attempts.py)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),
                      Index("ix_login_failures_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    # Where the guess came from: the peer, or the client a trusted proxy names.
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A check still being verified (its row is deleted if the password matches).
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """One of a member's recovery codes, made at sign-up or from Settings and shown to them
    once: only its argon2id hash is kept (server/accounts/passwords.py says why that hash).
    Using it deletes it, so each works once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(Base):
    """A one-time reset code a moderator made for a member of their group, shown once to the
    moderator to pass on in person; only its hash is kept. It works until `expires_at`, once,
    and only while the member is in the group and its maker still moderates it. Once used it
    stays until the member is told, at their next sign-in, who made it and when it was used."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # None once the group or the moderator is gone: an unused code then works no more, and a
    # used one still tells the member, naming "a former moderator".
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
