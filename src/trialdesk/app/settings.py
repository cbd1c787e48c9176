"""The application's settings: one class, read from ``TRIALDESK_*`` environment variables.

There is no default secret key. Outside demo mode the application refuses to start
without ``TRIALDESK_SECRET_KEY`` (at least 32 characters); demo mode makes a random
one per process, so demo sessions never survive a restart.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trialdesk.errors import TrialdeskError

__all__ = ["Settings", "SettingsError", "database_url"]

MIN_SECRET_LENGTH = 32


class SettingsError(TrialdeskError):
    """The settings do not allow the application to start (e.g. no secret key)."""


def database_url(value: str) -> str:
    """A SQLAlchemy URL from what a user typed: a URL, or a path to a SQLite file.

    ``postgresql://`` and ``postgres://`` URLs get the psycopg 3 driver.

    Example:
        >>> database_url("site.db")  # doctest: +ELLIPSIS
        'sqlite:///.../site.db'
        >>> database_url("postgresql://127.0.0.1/trialdesk")
        'postgresql+psycopg://127.0.0.1/trialdesk'
    """
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return value


class Settings(BaseSettings):
    """Everything the application reads from its environment.

    Each field can be set as ``TRIALDESK_<FIELD>`` (e.g. ``TRIALDESK_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="TRIALDESK_", extra="forbid")

    database_url: str = "sqlite:///./trialdesk.db"
    secret_key: SecretStr | None = None
    demo: bool = False
    https: bool = Field(False, description="Served over TLS (directly or behind a proxy): Secure cookies")
    idle_timeout_seconds: int = Field(15 * 60, gt=0)
    session_max_seconds: int = Field(12 * 3600, gt=0)
    max_upload_bytes: int = Field(5 * 1024 * 1024, gt=0)
    login_max_failures: int = Field(5, gt=0, description="Failed log-ins per user name (or 4x per client) ...")
    login_window_seconds: int = Field(15 * 60, gt=0, description="... within this window before refusing")
    protocol_dir: Path | None = None
    reference_intervals: Path | None = None
    argon2_time_cost: int = Field(3, gt=0)
    argon2_memory_kib: int = Field(64 * 1024, ge=32)
    run_migrations: bool = True

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return database_url(value)

    def checked(self) -> "Settings":
        """These settings, with a random secret key in demo mode; raises if a key is missing.

        Raises:
            SettingsError: no ``TRIALDESK_SECRET_KEY`` outside demo mode, or a short one.
        """
        if self.secret_key is None:
            if not self.demo:
                raise SettingsError("TRIALDESK_SECRET_KEY is not set: refusing to start without a secret key "
                                    f"(at least {MIN_SECRET_LENGTH} characters; e.g. "
                                    "python -c 'import secrets; print(secrets.token_urlsafe(48))')")
            return self.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(48))})
        if len(self.secret_key.get_secret_value()) < MIN_SECRET_LENGTH:
            raise SettingsError(f"TRIALDESK_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters")
        return self
