"""Web Push: a payload encrypted for the subscription (RFC 8291, aes128gcm), signed
with the site's VAPID key (RFC 8292) and posted to its push service (RFC 8030)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from loyalty_gql.services.channels.email import Outcome
from loyalty_gql.services.core.targets import (
    NotSent,
    Resolver,
    Target,
    resolve_host,
    vetted_targets,
)

TTL_SECONDS = 4 * 7 * 24 * 3600  # a push service may keep a message four weeks

GONE = (404, 410)


def new_vapid_key() -> str:
    """A fresh VAPID private key: the raw P-256 scalar, base64url without padding."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_key(private_key: str) -> str:
    """The applicationServerKey browsers subscribe with: the uncompressed public point,
    base64url without padding."""
    vapid = Vapid02.from_string(private_key)
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


def payload(title: str, body: str, url: str) -> dict[str, str]:
    """What the service worker receives (JSON): the rendered title, body and deep link."""
    return {"title": title, "body": body, "url": url}


async def post(
    client: httpx.AsyncClient,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    message: dict[str, str],
    vapid_private_key: str | None,
    vapid_subject: str,
    topic: str,
    now: datetime,
    within: float,
    allow_private: bool,
    resolve: Resolver = resolve_host,
) -> Outcome:
    """Encrypt and post one message to the endpoint's vetted address (a customer names
    the endpoint: public addresses only, unless ``allow_private``); 404 and 410 say the
    subscription is gone."""
    try:
        to = await vetted_targets(endpoint, allow_private=allow_private, resolve=resolve,
                                  within=within)  # fmt: skip
    except NotSent as refusal:
        return Outcome(None, str(refusal)[:1000], permanent=str(refusal).startswith("refused"))
    if not vapid_private_key:
        return Outcome(None, "no VAPID key (site settings or LOYALTY_VAPID_PRIVATE_KEY)")
    try:
        body, headers = _sealed(
            endpoint, p256dh, auth, message, vapid_private_key, vapid_subject, now
        )
    except (WebPushException, VapidException, ValueError) as error:
        return Outcome(None, f"cannot encrypt or sign: {error}"[:1000], permanent=True)
    headers |= {"ttl": str(TTL_SECONDS), "content-encoding": "aes128gcm",
                "content-type": "application/octet-stream", "topic": topic,
                "urgency": "normal"}  # fmt: skip
    return await _posted(client, to, body, headers, within)


def _sealed(  # noqa: PLR0917 - what one message is sealed with
    endpoint: str,
    p256dh: str,
    auth: str,
    message: dict[str, str],
    vapid_private_key: str,
    vapid_subject: str,
    now: datetime,
) -> tuple[bytes, dict[str, str]]:
    """The message encrypted for the subscription, and the VAPID Authorization header."""
    keys = {"p256dh": p256dh, "auth": auth}
    encrypted = WebPusher({"endpoint": endpoint, "keys": keys}).encode(
        orjson.dumps(message), "aes128gcm"
    )
    url = httpx.URL(endpoint)
    claims = {"aud": f"{url.scheme}://{url.netloc.decode('ascii')}", "sub": vapid_subject,
              "exp": int((now + timedelta(hours=12)).timestamp())}  # fmt: skip
    headers: dict[str, str] = Vapid02.from_string(vapid_private_key).sign(claims)
    return bytes(encrypted["body"]), headers


async def _posted(
    client: httpx.AsyncClient,
    to: list[Target],
    body: bytes,
    headers: dict[str, str],
    within: float,
) -> Outcome:
    failed = ""
    for target in to:
        try:
            response = await client.post(
                target.url, content=body, headers={**headers, **target.headers},
                extensions=target.extensions, timeout=within, follow_redirects=False,
            )  # fmt: skip
        except httpx.ConnectError as failure:  # nothing was sent: try the next address
            failed = f"{type(failure).__name__}: {failure} ({target.address})"
            continue
        except httpx.HTTPError as failure:
            return Outcome(None, f"{type(failure).__name__}: {failure}"[:1000])
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(code, None)
        gone = code in GONE
        permanent = gone or code in (400, 403, 413)
        return Outcome(code, "subscription gone" if gone else f"HTTP {code}", permanent, gone)
    return Outcome(None, failed[:1000])
