"""Bearer JWT authentication: who is calling, and which sites and customer they may see.

Tokens are HS256 (a shared secret) or RS256 (the service holds only the public key).
Everything in a token is the caller's choice, signed or not: claims are checked for
shape before use, and anything PyJWT or the checks refuse is a 401, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from loyalty_gql.config import Settings

log = logging.getLogger(__name__)

TOKEN_CACHE_SIZE = 4096
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z; a later exp, nbf or iat is nonsense
MAX_CLAIM_LENGTH = 255  # site and each of sites
# the subject is recorded as "<role>:<sub>" in 200-character actor columns
MAX_SUBJECT_LENGTH = 190
MAX_SITES = 1000  # far beyond what fits in an HTTP header anyway
MIN_RSA_BITS = 2048
PUBLIC_KEY_SETTING = "LOYALTY_JWT_PUBLIC_KEY"
PRIVATE_KEY_SETTING = "LOYALTY_JWT_PRIVATE_KEY"


class Role(Enum):
    """What kind of caller a credential belongs to."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    SERVICE = "service"
    ADMIN = "admin"


class AuthenticationError(Exception):
    """A credential was sent but is not valid; the HTTP layer answers 401."""


class KeyConfigurationError(ValueError):
    """A configured JWT key cannot be used (raised at start-up, not at the first request)."""


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


def pem_bytes(value: str) -> bytes:
    """A PEM from the environment; literal ``\\n`` sequences (env files) become newlines."""
    return value.replace("\\n", "\n").strip().encode()


def _not_rsa(setting: str) -> KeyConfigurationError:
    return KeyConfigurationError(f"{setting} is not an RSA key (RS256 needs RSA)")


def _check_size(bits: int, setting: str) -> None:
    if bits < MIN_RSA_BITS:
        msg = f"{setting} is a {bits}-bit RSA key; use {MIN_RSA_BITS} bits or more"
        raise KeyConfigurationError(msg)


@lru_cache(maxsize=8)
def load_public_key(pem: bytes) -> RSAPublicKey:
    """The RS256 verification key from PEM text, or a clear :class:`KeyConfigurationError`."""
    if b"PRIVATE KEY-----" in pem:
        msg = (
            f"{PUBLIC_KEY_SETTING} holds a private key; give the service only the public key "
            "(openssl pkey -in private.pem -pubout)"
        )
        raise KeyConfigurationError(msg)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        msg = (
            f"{PUBLIC_KEY_SETTING} is not a PEM public key "
            f"('-----BEGIN PUBLIC KEY-----' ...): {error}"
        )
        raise KeyConfigurationError(msg) from None
    if not isinstance(key, RSAPublicKey):
        raise _not_rsa(PUBLIC_KEY_SETTING)
    _check_size(key.key_size, PUBLIC_KEY_SETTING)
    return key


@lru_cache(maxsize=8)
def load_private_key(pem: bytes) -> RSAPrivateKey:
    """The RS256 signing key from PEM text (unencrypted), or a clear error."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        msg = (
            f"{PRIVATE_KEY_SETTING} is not an unencrypted PEM private key "
            f"('-----BEGIN PRIVATE KEY-----' ...): {error}"
        )
        raise KeyConfigurationError(msg) from None
    if not isinstance(key, RSAPrivateKey):
        raise _not_rsa(PRIVATE_KEY_SETTING)
    _check_size(key.key_size, PRIVATE_KEY_SETTING)
    return key


def _public_key(settings: Settings) -> RSAPublicKey:
    if not settings.jwt_public_key:
        msg = f"{PUBLIC_KEY_SETTING} is required with RS256"
        raise KeyConfigurationError(msg)
    return load_public_key(pem_bytes(settings.jwt_public_key))


def verification_key(settings: Settings) -> RSAPublicKey | str:
    """The key tokens are checked with: the RSA public key for RS256, else the secret."""
    if settings.jwt_algorithm != "RS256":
        return settings.jwt_secret
    return _public_key(settings)


def signing_key(settings: Settings) -> RSAPrivateKey | str:
    """The key tokens are signed with; for RS256 it must match the public key."""
    if settings.jwt_algorithm != "RS256":
        return settings.jwt_secret
    if not settings.jwt_private_key:
        msg = f"{PRIVATE_KEY_SETTING} is needed to sign RS256 tokens"
        raise KeyConfigurationError(msg)
    private = load_private_key(pem_bytes(settings.jwt_private_key))
    if private.public_key().public_numbers() != _public_key(settings).public_numbers():
        msg = (
            f"{PRIVATE_KEY_SETTING} does not belong to {PUBLIC_KEY_SETTING}: "
            "the service would refuse its tokens"
        )
        raise KeyConfigurationError(msg)
    return private


class TokenVerifier:
    """Decodes bearer tokens, caching the ones seen recently (they are immutable).

    Built at start-up: a missing or malformed RS256 public key raises
    :class:`KeyConfigurationError` here rather than failing every request.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key = verification_key(settings)
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def principal(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header; anonymous when there is none."""
        return self.verified(authorization)[0]

    def verified(self, authorization: str | None) -> tuple[Principal, float | None]:
        """The principal of an ``Authorization`` header and when its token expires (a
        Unix time; None for anonymous callers)."""
        if not authorization:
            return ANONYMOUS, None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "use 'Authorization: Bearer <token>'"
            raise AuthenticationError(msg)
        token = token.strip()
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None and cached[1] > now:
            self._cache.move_to_end(token)
            return cached
        claims = self._decode(token)
        expires = check_times(claims, now)
        principal = principal_from_claims(claims)
        self._cache[token] = (principal, expires)
        if len(self._cache) > TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal, expires

    def _decode(self, token: str) -> dict[str, Any]:
        """The signed claims; exp, nbf and iat are checked by :func:`check_times`."""
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[self._settings.jwt_algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={
                    "require": ["exp", "sub", "role"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            msg = f"invalid token: {error}"
            raise AuthenticationError(msg) from None
        except Exception:  # whatever else a hostile token makes PyJWT raise
            log.debug("PyJWT failed on a token", exc_info=True)
            msg = "invalid token: it cannot be decoded"
            raise AuthenticationError(msg) from None


def _timestamp(claims: dict[str, Any], name: str) -> float | None:
    if name not in claims:
        return None
    value = claims[name]
    # NaN compares false and infinity (1e400 in the JSON) is beyond the bound; integers
    # compare exactly however many digits they have (float() would overflow on 10**400)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_TIMESTAMP
    ):
        msg = f"invalid token: '{name}' must be a number of seconds since 1970, before year 10000"
        raise AuthenticationError(msg)
    return float(value)


def check_times(claims: dict[str, Any], now: float) -> float:
    """Check exp, nbf and iat (shape and value) against ``now``; returns exp."""
    expires = _timestamp(claims, "exp")
    not_before = _timestamp(claims, "nbf")
    issued = _timestamp(claims, "iat")
    if expires is None:
        msg = "invalid token: it has no 'exp'"
        raise AuthenticationError(msg)
    if expires <= now:
        msg = "invalid token: it has expired"
        raise AuthenticationError(msg)
    if not_before is not None and not_before > now:
        msg = "invalid token: it is not valid yet ('nbf')"
        raise AuthenticationError(msg)
    if issued is not None and issued > now:
        msg = "invalid token: it was issued in the future ('iat')"
        raise AuthenticationError(msg)
    return expires


def _text(value: object, name: str, longest: int = MAX_CLAIM_LENGTH) -> str:
    """A claim used as an identifier: 1-``longest`` characters, no NUL, valid Unicode."""
    if isinstance(value, str) and 0 < len(value) <= longest and "\x00" not in value:
        try:
            value.encode()
        except UnicodeEncodeError:  # lone surrogates, from "\ud800" in the JSON
            pass
        else:
            return value
    msg = (
        f"invalid token: '{name}' must be text of 1-{longest} characters "
        "(no NUL, no lone surrogates)"
    )
    raise AuthenticationError(msg)


TOKEN_ROLES = {role.value: role for role in Role if role is not Role.ANONYMOUS}


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Check the claims' shape for the role and build the principal."""
    role_claim = claims.get("role")
    if role_claim == Role.ANONYMOUS.value:
        msg = "invalid token: anonymous is not a role for tokens"
        raise AuthenticationError(msg)
    role = TOKEN_ROLES.get(role_claim) if isinstance(role_claim, str) else None
    if role is None:
        msg = "invalid token: unknown role"
        raise AuthenticationError(msg)
    subject = _text(claims.get("sub"), "sub", MAX_SUBJECT_LENGTH)
    if role is Role.ADMIN:
        sites = claims.get("sites")
        if not isinstance(sites, list) or len(sites) > MAX_SITES:
            msg = f"invalid token: an admin token lists its sites (at most {MAX_SITES}) in 'sites'"
            raise AuthenticationError(msg)
        return Principal(role, subject, frozenset(_text(site, "sites") for site in sites))
    site = claims.get("site")
    if not isinstance(site, str):
        msg = f"invalid token: a {role.value} token names its site in 'site'"
        raise AuthenticationError(msg)
    external = subject if role is Role.CUSTOMER else None
    return Principal(role, subject, frozenset({_text(site, "site")}), external)


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
    return jwt.encode(claims, signing_key(settings), algorithm=settings.jwt_algorithm)
