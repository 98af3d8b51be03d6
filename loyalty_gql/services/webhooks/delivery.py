"""Sending due deliveries: claimed with a lease, sent to vetted addresses, recorded."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.webhooks import Attempt, due_deliveries, record_attempt
from loyalty_gql.domain.webhooks import targets as webhook_targets
from loyalty_gql.domain.webhooks.deliveries import LEASE, MAX_ATTEMPTS, DeliveryStatus, backoff
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.webhooks.endpoints import TIMEOUT_SECONDS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker leased, with what it needs to send it."""

    id: int
    lease_until: datetime
    webhook_id: str
    body: str
    url: str
    secret: str
    attempts: int


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Looks a host name up: (host, port) -> its addresses, most preferred first."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` has for TCP, in the system resolver's order (getaddrinfo)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


async def send_due(
    db: Database,
    *,
    clock: Clock,
    client: httpx.AsyncClient,
    batch_size: int = 50,
    lease: timedelta = LEASE,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> int:
    """Send the deliveries that are due (one leased batch); returns how many were tried.
    ``lease`` must outlast sending a batch; a dead worker's leases free after it.
    Targets must resolve to public addresses only, unless ``allow_private``."""
    claimed = await _claim(db, clock(), batch_size, lease)
    for delivery in claimed:
        status, error = await _send(
            client, delivery, clock(), allow_private=allow_private, resolve=resolve
        )
        await _record(db, delivery, status, error, clock())
    return len(claimed)


async def _claim(
    db: Database, now: datetime, batch_size: int, lease: timedelta = LEASE
) -> list[Claimed]:
    lease_until = now + lease
    async with UnitOfWork(db) as uow:
        due = await due_deliveries(uow.session, now, limit=batch_size, lock=uow.is_postgres)
        claimed = []
        for delivery, endpoint in due:
            delivery.lease_until = lease_until
            claimed.append(
                Claimed(delivery.id, lease_until, delivery.webhook_id, delivery.body,
                        endpoint.url, endpoint.secret, delivery.attempts)
            )  # fmt: skip
        await uow.commit()
    return claimed


@dataclass(frozen=True, slots=True)
class _Target:
    """One vetted address to send a delivery to: the URL with the address as its host,
    and for a name, the ``Host`` header and the TLS server name to keep."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]
    address: str


class _NotSent(Exception):  # noqa: N818 - an outcome, not an error of ours
    """Why an attempt made no request (becomes the delivery's last error)."""


async def _targets(url: str, *, allow_private: bool, resolve: Resolver) -> list[_Target]:
    """Where to send to ``url``: one target per address its host resolves to, in order.
    Raises _NotSent when the URL is unusable, the name does not resolve, or (unless
    ``allow_private``) any of its addresses is not public."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        literal = webhook_targets.literal_address(host)
    except (httpx.InvalidURL, ValueError) as error:  # UnicodeError is a ValueError
        raise _NotSent(f"invalid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise _NotSent("invalid URL: an http(s) URL with a host is needed")
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await _resolved(host, port, resolve)
    if not allow_private:
        for address in addresses:
            kind = webhook_targets.non_public(address)
            if kind is not None:
                where = f"{host} is" if literal is not None else f"{host} resolves to {address},"
                raise _NotSent(f"refused: {where} a non-public address ({kind})")
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if literal is None:  # the connection goes to the vetted address, under the name
        headers["host"] = parsed.netloc.decode("ascii")
        if parsed.scheme == "https":
            extensions["sni_hostname"] = host
            headers["connection"] = "close"  # pooled connections are keyed by the address
    try:
        return [
            _Target(parsed.copy_with(host=str(address)), headers, extensions, str(address))
            for address in addresses
        ]
    except httpx.InvalidURL as error:
        raise _NotSent(f"invalid URL: {error}") from None


async def _resolved(host: str, port: int, resolve: Resolver) -> list[webhook_targets.IPAddress]:
    try:
        found = await asyncio.wait_for(resolve(host, port), TIMEOUT_SECONDS)
        addresses = [ipaddress.ip_address(address) for address in found]
    except (OSError, TimeoutError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise _NotSent(f"DNS: {host} could not be resolved ({reason})") from None
    if not addresses:
        raise _NotSent(f"DNS: {host} has no address")
    return addresses


async def _send(
    client: httpx.AsyncClient,
    delivery: Claimed,
    now: datetime,
    *,
    allow_private: bool,
    resolve: Resolver,
) -> tuple[int | None, str | None]:
    try:
        to = await _targets(delivery.url, allow_private=allow_private, resolve=resolve)
    except _NotSent as refusal:
        log.warning("webhook delivery %s not sent: %s", delivery.id, refusal)
        return None, str(refusal)[:1000]
    signature = Webhook(delivery.secret).sign(delivery.webhook_id, now, delivery.body)
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "loyalty-gql-webhooks",
    }
    error = ""
    for target in to:
        try:
            response = await client.post(
                target.url, content=delivery.body, headers={**headers, **target.headers},
                extensions=target.extensions, timeout=TIMEOUT_SECONDS, follow_redirects=False,
            )  # fmt: skip
        except httpx.ConnectError as failure:  # nothing was sent: try the next address
            error = f"{type(failure).__name__}: {failure}"
            if "host" in target.headers:
                error += f" ({target.address})"
            continue
        except httpx.HTTPError as failure:
            return None, f"{type(failure).__name__}: {failure}"[:1000]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
    return None, error[:1000]


async def _record(
    db: Database, delivery: Claimed, status: int | None, error: str | None, now: datetime
) -> None:
    attempts = delivery.attempts + 1
    if error is None:
        attempt = Attempt(
            attempts, status, error, status=DeliveryStatus.DELIVERED, delivered_at=now
        )
    elif attempts >= MAX_ATTEMPTS:
        attempt = Attempt(attempts, status, error, status=DeliveryStatus.DEAD)
    else:
        attempt = Attempt(attempts, status, error, next_attempt_at=now + backoff(attempts))
    async with UnitOfWork(db) as uow:
        # only while the lease is ours: after it ran out another worker owns the row
        await record_attempt(uow.session, delivery.id, delivery.lease_until, attempt)
        await uow.commit()
