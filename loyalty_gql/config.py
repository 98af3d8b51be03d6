"""Settings read from the environment (prefix ``LOYALTY_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"  # noqa: S105


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./loyalty.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_private_key: str | None = Field(
        default=None, description="Only for `loyalty-gql token` with RS256."
    )
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    max_body_bytes: int = 1_000_000
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_complexity: int = 5_000
    max_page_size: int = 100
    default_page_size: int = 20

    db_pool_size: int = 10

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> Settings:
        weak = self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32
        if self.env == "production" and self.jwt_algorithm == "HS256" and weak:
            msg = "LOYALTY_JWT_SECRET must be set to 32+ characters in production"
            raise ValueError(msg)
        if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
            msg = "LOYALTY_JWT_PUBLIC_KEY is required with RS256"
            raise ValueError(msg)
        return self

    @property
    def is_production(self) -> bool:
        """Whether introspection and the IDE are switched off."""
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
