"""Where webhooks may be sent: http(s) URLs that reach public addresses only.

An admin chooses the URL and the worker posts to it from inside the shop's network,
so a URL on loopback, a private network or a cloud metadata address would let an admin
make the worker call internal services (server-side request forgery). Two rules:

- `url_problem` when an endpoint is saved: a well-formed http(s) URL with a host, no
  credentials, a valid port; an IP-literal host must be public, and the names
  ``localhost`` and ``*.localhost`` are refused. Other names are accepted: what they
  resolve to may change, so the worker checks again when it sends.
- `non_public` when a delivery is sent, for every address the name resolved to.

``allow_private`` (LOYALTY_WEBHOOK_ALLOW_PRIVATE, for development and tests) switches
off the address rules, not the shape of the URL.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000

# Special-purpose blocks (IANA registries) that are not reachable on the public internet,
# checked besides `is_global`: Python's own tables miss some (6to4 or NAT64 addresses that
# embed a private IPv4 address, documentation blocks, 3fff::/20, ...), and they changed
# between Python releases.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible addresses
        "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)

_HOST_LABEL = re.compile(r"^(?:[a-z0-9_-]|[^\x00-\x7f])+$")
_IDEOGRAPHIC_DOTS = re.compile("[\u3002\uff0e\uff61]")  # IDNA reads them as "."
_NUMBER = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 or 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def non_public(address: IPAddress) -> str | None:  # noqa: PLR0911 - one return per kind
    """What kind of non-public address ``address`` is ("loopback", "private", ...), or
    None for a public (global unicast) address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return non_public(inner)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address in _SHARED:
        return "shared address space"
    if any(address in network for network in _PRIVATE):
        return "private"
    blocked = _NOT_PUBLIC_V4 if isinstance(address, ipaddress.IPv4Address) else _NOT_PUBLIC_V6
    if any(address in network for network in blocked) or not address.is_global:
        return "reserved for special use"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address an IP-literal host names, or None for a name.

    Besides the usual spellings this reads the numeric IPv4 forms resolvers accept
    (``127.1``, ``0x7f.1``, ``2130706433``, ``0177.0.0.1``): a host whose last label is a
    number is an IPv4 address, as the WHATWG URL standard reads it. Raises ValueError for
    such a host that is not a valid address (``1.2.3.999``).
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.lower().removesuffix(".").split(".")
    if not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        msg = f"{host} is not a valid IPv4 address"
        raise ValueError(msg)
    numbers = [_number(label) for label in labels]
    last_bits = 8 * (5 - len(numbers))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        msg = f"{host} is not a valid IPv4 address"
        raise ValueError(msg)
    value = 0
    for n in numbers[:-1]:
        value = value << 8 | n
    return ipaddress.IPv4Address(value << last_bits | numbers[-1])


def _number(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        if not set(label) <= set("01234567"):
            msg = f"{label} is not an octal number"
            raise ValueError(msg)
        return int(label, 8)
    return int(label)


def _is_standard_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_localhost(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a name under it (RFC 6761)."""
    name = _IDEOGRAPHIC_DOTS.sub(".", host.lower()).removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def url_problem(  # noqa: PLR0911 - one return per reason, checked in order
    url: str, *, allow_private: bool = False
) -> str | None:
    """Why ``url`` may not be a webhook endpoint, or None when it may."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):  # urlsplit drops tabs silently
        return "the URL may not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("https", "http"):
        return "an http or https URL is needed"
    if not host:
        return "the URL names no host"
    if parts.username is not None or parts.password is not None:
        return "the URL may not contain a user name or password"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "the URL's port must be a number from 1 to 65535"
    return host_problem(host, allow_private=allow_private)


def host_problem(host: str, *, allow_private: bool = False) -> str | None:
    """Why a URL's ``host`` (as `urlsplit` reads it) may not receive webhooks, or None."""
    try:
        address = literal_address(host)
    except ValueError:
        return f"{host} is not a valid IP address"
    if address is None:
        labels = _IDEOGRAPHIC_DOTS.sub(".", host).removesuffix(".").split(".")
        if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
            return f"{host} is not a valid host name"
        if not allow_private and is_localhost(host):
            return f"webhooks go to public addresses only; {host} is this machine"
        return None
    kind = None if allow_private else non_public(address)
    if kind is not None:
        shown = host if _is_standard_literal(host) else f"{host} ({address})"
        return f"webhooks go to public addresses only; {shown} is {kind}"
    return None
