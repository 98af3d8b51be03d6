"""Web Push: a payload encrypted for the subscription (RFC 8291, aes128gcm), signed
with the site's VAPID key (RFC 8292) and posted to its push service (RFC 8030)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from datetime import datetime, timedelta

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from loyalty_gql.domain.webhooks import targets as webhook_targets
from loyalty_gql.services.channels.email import Outcome

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


async def _private_address(endpoint: str) -> str | None:
    """Why the endpoint's host is not for us: it resolves to a non-public address (a
    customer names the endpoint; it must not reach into the shop's network)."""
    url = httpx.URL(endpoint)
    host = url.host
    try:
        if webhook_targets.literal_address(host) is not None:
            return None  # url_problem checked the literal
    except ValueError:
        return f"{host} is not a valid address"
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, url.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as error:
        return f"DNS: {host} could not be resolved ({error})"
    for *_, sockaddr in found:
        kind = webhook_targets.non_public(ipaddress.ip_address(sockaddr[0]))
        if kind is not None:
            return f"{host} resolves to {sockaddr[0]}, a non-public address ({kind})"
    return None


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
) -> Outcome:
    """Encrypt and post one message; 404 and 410 say the subscription is gone."""
    problem = webhook_targets.url_problem(endpoint, allow_private=allow_private)
    if problem is None and not allow_private:
        problem = await _private_address(endpoint)
    if problem is not None:
        return Outcome(None, f"refused: {problem}", permanent=True)
    if not vapid_private_key:
        return Outcome(None, "no VAPID key (site settings or LOYALTY_VAPID_PRIVATE_KEY)")
    url = httpx.URL(endpoint)
    audience = f"{url.scheme}://{url.netloc.decode('ascii')}"
    try:
        keys = {"p256dh": p256dh, "auth": auth}
        encrypted = WebPusher({"endpoint": endpoint, "keys": keys}).encode(
            orjson.dumps(message), "aes128gcm"
        )
        claims = {"aud": audience, "sub": vapid_subject,
                  "exp": int((now + timedelta(hours=12)).timestamp())}  # fmt: skip
        headers = Vapid02.from_string(vapid_private_key).sign(claims)
    except (WebPushException, VapidException, ValueError) as error:
        return Outcome(None, f"cannot encrypt or sign: {error}"[:1000], permanent=True)
    headers |= {
        "ttl": str(TTL_SECONDS),
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
        "topic": topic,
        "urgency": "normal",
    }
    try:
        response = await client.post(
            endpoint, content=encrypted["body"], headers=headers, timeout=within,
            follow_redirects=False,
        )  # fmt: skip
    except httpx.HTTPError as failure:
        return Outcome(None, f"{type(failure).__name__}: {failure}"[:1000])
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(code, None)
    gone = code in GONE
    permanent = gone or code in (400, 403, 413)
    return Outcome(code, "subscription gone" if gone else f"HTTP {code}", permanent, gone)
