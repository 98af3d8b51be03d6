"""Bearer JWT authentication: who is calling, and which sites and customer they may see."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import jwt

from loyalty_gql.config import Settings

TOKEN_CACHE_SIZE = 4096


class Role(Enum):
    """What kind of caller a credential belongs to."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    SERVICE = "service"
    ADMIN = "admin"


class AuthenticationError(Exception):
    """A credential was sent but is not valid; the HTTP layer answers 401."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller as the token describes them (site codes, the shop's customer id)."""

    role: Role
    subject: str = ""
    site_codes: frozenset[str] = frozenset()
    customer_external_id: str | None = None

    @property
    def actor(self) -> str:
        """How the caller is named in audit trails."""
        return f"{self.role.value}:{self.subject}"


ANONYMOUS = Principal(Role.ANONYMOUS)


@dataclass(slots=True)
class Access:
    """A principal resolved against the database: site ids and the customer's id."""

    principal: Principal
    site_ids: frozenset[int] = frozenset()
    customer_id: int | None = None
    site_codes_by_id: dict[int, str] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        """The caller's role."""
        return self.principal.role

    def sees_site(self, site_id: int) -> bool:
        """Whether the caller may read this site at all."""
        return site_id in self.site_ids

    def manages_site(self, site_id: int) -> bool:
        """Whether the caller may change the site's program (admins of it)."""
        return self.role is Role.ADMIN and site_id in self.site_ids

    def serves_site(self, site_id: int) -> bool:
        """Whether the caller is the site's admin or its shop backend."""
        return self.role in (Role.ADMIN, Role.SERVICE) and site_id in self.site_ids

    def sees_customer(self, site_id: int, customer_id: int) -> bool:
        """Whether the caller may read this customer: the shop's staff, or the customer."""
        if self.role is Role.CUSTOMER:
            return customer_id == self.customer_id
        return self.serves_site(site_id)


class TokenVerifier:
    """Decodes bearer tokens, caching the ones seen recently (they are immutable)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key = (
            settings.jwt_public_key if settings.jwt_algorithm == "RS256" else settings.jwt_secret
        )
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def principal(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header; anonymous when there is none."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "use 'Authorization: Bearer <token>'"
            raise AuthenticationError(msg)
        token = token.strip()
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            self._cache.move_to_end(token)
            return cached[0]
        claims = self._decode(token)
        principal = principal_from_claims(claims)
        self._cache[token] = (principal, float(claims["exp"]))
        if len(self._cache) > TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[self._settings.jwt_algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.PyJWTError as error:
            msg = f"invalid token: {error}"
            raise AuthenticationError(msg) from None


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Check the claims' shape for the role and build the principal."""
    try:
        role = Role(claims["role"])
    except ValueError:
        msg = "invalid token: unknown role"
        raise AuthenticationError(msg) from None
    subject = str(claims["sub"])
    if role is Role.ADMIN:
        sites = claims.get("sites")
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            msg = "invalid token: an admin token lists its sites in 'sites'"
            raise AuthenticationError(msg)
        return Principal(role, subject, frozenset(sites))
    if role in (Role.SERVICE, Role.CUSTOMER):
        site = claims.get("site")
        if not isinstance(site, str):
            msg = f"invalid token: a {role.value} token names its site in 'site'"
            raise AuthenticationError(msg)
        external = subject if role is Role.CUSTOMER else None
        return Principal(role, subject, frozenset({site}), external)
    msg = "invalid token: anonymous is not a role for tokens"
    raise AuthenticationError(msg)


def issue_token(
    settings: Settings,
    *,
    role: Role,
    sites: list[str],
    subject: str,
    ttl_seconds: int = 30 * 24 * 3600,
) -> str:
    """Sign a token (for development, tests and the CLI)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "role": role.value, "iat": now}
    claims["exp"] = now + ttl_seconds
    if role is Role.ADMIN:
        claims["sites"] = sites
    else:
        claims["site"] = sites[0]
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_algorithm == "RS256":
        if not settings.jwt_private_key:
            msg = "LOYALTY_JWT_PRIVATE_KEY is needed to sign RS256 tokens"
            raise ValueError(msg)
        return jwt.encode(claims, settings.jwt_private_key, algorithm="RS256")
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
