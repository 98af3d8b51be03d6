"""Webhooks: endpoints per site, and delivering outbox events to them reliably.

Two steps, each safe with any number of workers:

- `dispatch` takes undispatched outbox events (PostgreSQL: `FOR UPDATE SKIP
  LOCKED`), renders each event's notification with the site's templates, and
  writes one delivery per matching endpoint (unique per endpoint and event) with
  the exact body every attempt will send and a stable `webhook-id`.
- `send_due` claims due deliveries with a lease (a short transaction), sends them
  signed by the Standard Webhooks scheme outside any transaction, and records
  each outcome. A worker that dies mid-batch leaves leases that run out; the
  deliveries are sent again, under the same webhook-id, so receivers can drop
  duplicates. Failures back off exponentially; after MAX_ATTEMPTS a delivery is
  DEAD until `retry_delivery` sends it again.

Targets are public addresses only (`domain.webhook_targets`; no SSRF into the shop's
network). Saving an endpoint refuses malformed URLs, IP literals that are not public
and ``localhost``. Sending resolves the host, refuses the attempt when any address it
resolved to is not public, and connects to the address it vetted (the request goes to
the IP, with the name in ``Host`` and, for https, as the TLS server name that the
certificate is verified against), so DNS that changes between the check and the
connection cannot lead elsewhere. A refused attempt is a failed attempt like any other
(no request is made; ``last_error`` says why) and follows the same backoff and
dead-letter rules, since DNS can be corrected. https requests to a name close their
connection afterwards: the pool keys connections by the IP, and a connection whose TLS
was verified for one name must not carry a request for another. Redirects are never
followed (a 3xx is a failed attempt). ``allow_private``
(LOYALTY_WEBHOOK_ALLOW_PRIVATE) lifts the address rules, for development and tests.
"""

from __future__ import annotations

from loyalty_gql.domain.webhooks.deliveries import (
    FIRST_BACKOFF,
    LEASE,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    backoff,
)
from loyalty_gql.services.core.targets import Resolver, resolve_host
from loyalty_gql.services.webhooks.delivery import Claimed, send_due
from loyalty_gql.services.webhooks.endpoints import (
    MAX_ENDPOINTS_PER_SITE,
    TIMEOUT_SECONDS,
    create_endpoint,
    dispatch,
    log,
    new_secret,
    retry_delivery,
    update_endpoint,
)

__all__ = [
    "FIRST_BACKOFF",
    "LEASE",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF",
    "MAX_ENDPOINTS_PER_SITE",
    "TIMEOUT_SECONDS",
    "Claimed",
    "Resolver",
    "backoff",
    "create_endpoint",
    "dispatch",
    "log",
    "new_secret",
    "resolve_host",
    "retry_delivery",
    "send_due",
    "update_endpoint",
]
