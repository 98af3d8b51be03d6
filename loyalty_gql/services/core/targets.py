"""Where a request to an address someone else named may go: public addresses only, checked
after DNS resolution, and the connection made to the address checked (webhooks, Web Push).

A URL's host is resolved; the request is refused when any address it resolved to is not
public (unless ``allow_private``), and it goes to the IP it vetted, with the name in
``Host`` and, for https, as the TLS server name that the certificate is verified against,
so DNS that changes between the check and the connection cannot lead elsewhere. https
requests to a name close their connection afterwards: the pool keys connections by the
IP, and a connection whose TLS was verified for one name must not carry a request for
another.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from loyalty_gql.domain.webhooks import targets as webhook_targets

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Looks a host name up: (host, port) -> its addresses, most preferred first."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` has for TCP, in the system resolver's order (getaddrinfo)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


@dataclass(frozen=True, slots=True)
class Target:
    """One vetted address to send a delivery to: the URL with the address as its host,
    and for a name, the ``Host`` header and the TLS server name to keep."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]
    address: str


class NotSent(Exception):  # noqa: N818 - an outcome, not an error of ours
    """Why an attempt made no request (becomes the delivery's last error)."""


async def vetted_targets(
    url: str, *, allow_private: bool, resolve: Resolver, within: float
) -> list[Target]:
    """Where to send to ``url``: one target per address its host resolves to, in order.
    Raises NotSent when the URL is unusable, the name does not resolve, or (unless
    ``allow_private``) any of its addresses is not public."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        literal = webhook_targets.literal_address(host)
    except (httpx.InvalidURL, ValueError) as error:  # UnicodeError is a ValueError
        raise NotSent(f"invalid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise NotSent("invalid URL: an http(s) URL with a host is needed")
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await _resolved(host, port, resolve, within)
    if not allow_private:
        for address in addresses:
            kind = webhook_targets.non_public(address)
            if kind is not None:
                where = f"{host} is" if literal is not None else f"{host} resolves to {address},"
                raise NotSent(f"refused: {where} a non-public address ({kind})")
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if literal is None:  # the connection goes to the vetted address, under the name
        headers["host"] = parsed.netloc.decode("ascii")
        if parsed.scheme == "https":
            extensions["sni_hostname"] = host
            headers["connection"] = "close"  # pooled connections are keyed by the address
    try:
        return [
            Target(parsed.copy_with(host=str(address)), headers, extensions, str(address))
            for address in addresses
        ]
    except httpx.InvalidURL as error:
        raise NotSent(f"invalid URL: {error}") from None


async def _resolved(
    host: str, port: int, resolve: Resolver, within: float
) -> list[webhook_targets.IPAddress]:
    try:
        found = await asyncio.wait_for(resolve(host, port), within)
        addresses = [ipaddress.ip_address(address) for address in found]
    except (OSError, TimeoutError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise NotSent(f"DNS: {host} could not be resolved ({reason})") from None
    if not addresses:
        raise NotSent(f"DNS: {host} has no address")
    return addresses
