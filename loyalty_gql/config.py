"""Settings read from the environment (prefix ``LOYALTY_``)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from loyalty_gql.domain.channels import parse_smtp_url
from loyalty_gql.services.channels.config import ChannelConfig

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
    max_fields: int = 2_000
    max_page_size: int = 100
    default_page_size: int = 20

    db_pool_size: int = 10
    response_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Customers' query answers each worker keeps (0: no response cache).",
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated); '*' for any.",
    )
    cors_allow_credentials: bool = Field(
        default=False, description="Let browsers send cookies; not allowed with '*'."
    )
    cors_max_age: int = Field(default=600, ge=0, description="Seconds a preflight is cached.")

    change_feed: bool = Field(
        default=True,
        description="Whether commits tell subscribers what changed (PostgreSQL: NOTIFY); "
        "off, subscriptions are refused. Set it alike for the server, the worker and jobs.",
    )
    ws_max_subscriptions: int = Field(
        default=20, ge=1, description="Operations one WebSocket connection may run at once."
    )
    ws_init_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a WebSocket client has to send connection_init."
    )
    ws_keepalive: float = Field(
        default=15.0,
        ge=0,
        description="Seconds between the server's pings (0: none); a client that sent "
        "nothing since the last one is disconnected.",
    )

    redis_url: str | None = Field(
        default=None,
        description="Rate-limit counters and persisted queries shared by several workers or "
        "hosts; on SQLite also the subscriptions' change feed between processes.",
    )
    redis_prefix: str = Field(
        default="loyalty", description="Prefix of this deployment's keys in Redis."
    )
    rate_limit_requests: int = Field(
        default=3000, ge=0, description="Requests per caller per minute; 0 switches it off."
    )
    rate_limit_cost: int = Field(
        default=150_000, ge=0, description="Query cost per caller per minute; 0 switches it off."
    )
    rate_limit_unknown_codes: int = Field(
        default=10, ge=0, description="Unknown coupon codes tried per caller per minute."
    )
    persisted_queries: bool = Field(
        default=True,
        description="Apollo's automatic persisted queries; false: PERSISTED_QUERY_NOT_SUPPORTED.",
    )
    persisted_queries_size: int = Field(
        default=5_000, ge=1, description="APQ documents each worker keeps in memory."
    )
    persisted_queries_ttl: int = Field(
        default=86_400, ge=1, description="Seconds an APQ document is kept in Redis."
    )
    trusted_documents: Path | None = Field(
        default=None,
        description="A manifest (Apollo's or Relay's) of the only documents that may run.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses or networks whose X-Forwarded-For names the client.",
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook endpoints on loopback and private networks (development).",
    )

    # e-mail and Web Push to customers (#19)
    smtp_url: str | None = Field(
        default=None,
        description="SMTP server mail goes through: smtp://[user:password@]host[:port]"
        "[?starttls=true|false] (STARTTLS by default on 587) or smtps:// (TLS, 465).",
    )
    smtp_from: str = Field(
        default="loyalty@localhost", description="Sender of sites that set none of their own."
    )
    public_url: str | None = Field(
        default=None,
        description="Where customers reach this service (unsubscribe links); default "
        "http://HOST:PORT.",
    )
    link_secret: str | None = Field(
        default=None,
        description="Key that signs unsubscribe links (default: derived from the JWT secret).",
    )
    channel_timeout: float = Field(
        default=10.0, gt=0, description="Seconds one e-mail or push attempt may take."
    )
    vapid_private_key: str | None = Field(
        default=None,
        description="Web Push VAPID private key (base64url P-256) of sites without their own.",
    )
    vapid_subject: str = Field(
        default="mailto:loyalty@localhost", description="Contact in VAPID claims (mailto:)."
    )

    otlp_endpoint: str | None = Field(
        default=None,
        description=(
            "OpenTelemetry collector (OTLP over HTTP, e.g. http://127.0.0.1:4318) that traces "
            "go to; tracing is off without it (or OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT)."
        ),
    )

    graphiql_dir: str | None = Field(
        default=None,
        description=(
            "Where scripts/setup-graphiql installed GraphiQL's scripts and styles, served "
            "to the IDE instead of the CDN's (default: .graphiql in the checkout)."
        ),
    )

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value:
            parse_smtp_url(value)  # SmtpUrlError is a ValueError: a clear start-up error
        return value or None

    @field_validator("trusted_documents", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> Settings:
        weak = self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32
        if self.env == "production" and self.jwt_algorithm == "HS256" and weak:
            msg = "LOYALTY_JWT_SECRET must be set to 32+ characters in production"
            raise ValueError(msg)
        if self.cors_allow_credentials and "*" in self.cors_origins:
            msg = "LOYALTY_CORS_ORIGINS may not be '*' when credentials are allowed"
            raise ValueError(msg)
        if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
            msg = "LOYALTY_JWT_PUBLIC_KEY is required with RS256"
            raise ValueError(msg)
        return self

    def channel_config(self) -> ChannelConfig:
        """What e-mail and push need from these settings (#19)."""
        secret = self.link_secret or self.jwt_secret
        return ChannelConfig(
            smtp=parse_smtp_url(self.smtp_url) if self.smtp_url else None,
            default_sender=self.smtp_from,
            public_url=self.public_url or f"http://{self.host}:{self.port}",
            link_secret=hashlib.sha256(b"unsubscribe-links:" + secret.encode()).digest(),
            vapid_private_key=self.vapid_private_key,
            vapid_subject=self.vapid_subject,
            allow_private=self.webhook_allow_private,
            timeout=self.channel_timeout,
        )

    @property
    def is_production(self) -> bool:
        """Whether introspection and the IDE are switched off."""
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
