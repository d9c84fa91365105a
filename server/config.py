"""Cairn's settings, read once from the environment (and an optional .env)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "change-me-this-is-not-a-secret"  # noqa: S105 - the refused default


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAIRN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'cairn.db'}"
    redis_url: str | None = None
    # Prefix of Cairn's Redis channels and keys, so several deployments can share one Redis.
    redis_prefix: str = Field(default="cairn", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    secret_key: str = DEFAULT_SECRET
    # Origins allowed to open a websocket with the session cookie. Empty: the
    # address Cairn is served at (the request's own Host).
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    encouragements_per_minute: int = Field(default=20, ge=1)
    session_days: int = Field(default=30, ge=1)
    login_failures_allowed: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    event_retention_count: int = Field(default=5000, ge=10)
    event_retention_days: int = Field(default=30, ge=1)
    prune_interval_minutes: int = Field(default=60, ge=0)  # 0: only `cairn prune` prunes
    # Role-play history (rounds, feedback, saved transcripts) and ended rooms are kept this long.
    roleplay_retention_days: int = Field(default=180, ge=1)
    roleplay_rehearse_seconds: int = Field(default=30, ge=1, le=600)
    roleplay_scene_seconds: int = Field(default=120, ge=1, le=1800)
    # A deployment's own crisis lines (JSON shaped like server/data/crisis_resources.json).
    crisis_resources_file: str | None = None
    db_pool_size: int = Field(default=20, ge=1)
    # How long `cairn serve` and `cairn migrate` wait for PostgreSQL to answer at start-up,
    # trying again with backoff; 0: one try.
    database_wait_seconds: int = Field(default=60, ge=0)
    # Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; from anyone else those headers change nothing.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"])
    # /metrics answers only `Authorization: Bearer <this>`; unset: /metrics is a 404.
    metrics_token: str | None = None
    # The interactive API docs at /docs. Unset: on, except in production.
    api_docs: bool | None = None
    # Web Push (reminders): the VAPID private key, base64url (`cairn vapid-keys` makes one),
    # and who the push services may contact about this deployment ("mailto:" or "https:").
    # Without a key reminders are off, and `cairn check` says so.
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@localhost"
    # The push services devices may subscribe through (an origin each; "https://*.example"
    # for any host under it). Nothing else is ever called, whatever a device sends.
    push_services: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [
        "https://fcm.googleapis.com", "https://updates.push.services.mozilla.com",
        "https://web.push.apple.com", "https://*.notify.windows.com"])
    # How often each process looks for reminders that are due and planned practice sessions
    # to open or close (seconds); 0: never.
    reminder_interval_seconds: int = Field(default=30, ge=0)
    # How often each process runs Python's full garbage collection itself (server/collector.py);
    # 0: Python's own pace.
    full_collection_minutes: float = Field(default=10, ge=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [n.strip() for n in value.split(",") if n.strip()]
        if isinstance(value, list):
            for network in value:
                try:
                    ipaddress.ip_network(network, strict=False)
                except ValueError:
                    raise ValueError(
                        f"CAIRN_TRUSTED_PROXIES: {network!r} is not an address or a network "
                        "(list the proxy's, e.g. 127.0.0.1 or 172.30.57.0/24; '*' is not allowed)"
                    ) from None
        return value

    @field_validator("metrics_token", "api_docs", "vapid_private_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("metrics_token")
    @classmethod
    def _long_metrics_token(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("CAIRN_METRICS_TOKEN needs at least 16 characters "
                             "(for example: openssl rand -hex 24)")
        return value

    @field_validator("allowed_origins", "push_services", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/").lower() for o in value.split(",") if o.strip()]
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "CAIRN_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def api_docs_on(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
