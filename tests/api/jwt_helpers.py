"""Hand-made tokens: raw JSON (which may say 1e400 or NaN) signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from loyalty_gql.config import Settings

DEV_SECRET = Settings(env="test").jwt_secret.encode()
HS256_HEADER = '{"alg":"HS256","typ":"JWT"}'
FAR_FUTURE = 4_102_444_800  # 2100-01-01
# a valid admin token's claims as raw JSON fragments; tests replace or drop some
ADMIN_CLAIMS = {
    "sub": '"tester"',
    "role": '"admin"',
    "sites": '["shop-a"]',
    "exp": str(FAR_FUTURE),
    "iat": "1700000000",
}


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(payload: str, *, secret: bytes = DEV_SECRET, header: str = HS256_HEADER) -> str:
    """A compact JWS of the raw ``payload`` text, signed with HMAC-SHA256 over ``secret``."""
    signing_input = f"{b64url(header.encode())}.{b64url(payload.encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def raw_claims(base: Mapping[str, str | None] = ADMIN_CLAIMS, **changes: str | None) -> str:
    """A JSON object from ``base``, each change a raw JSON value (None drops the claim)."""
    merged = {**base, **changes}
    return "{" + ",".join(f'"{k}":{v}' for k, v in merged.items() if v is not None) + "}"
