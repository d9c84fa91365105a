"""Cairn's settings, read once from the environment (and an optional .env)."""

from __future__ import annotations

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

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
