"""What the read-consistency tests share (#15): the storefront's reads as a customer token
sends them (the points badge and the dashboard of scripts/bench_storefront.py), the same
selections asked a way no response cache can have answered before, and the checks every
dashboard must pass whatever else is going on.

A response cache keyed by the document, the variables and the customer would hold the
answer of an identical earlier read. ``fresh`` makes a document no earlier request sent
(a unique alias at the top and inside ``viewer``), and ``of_customer`` asks the same
selection as staff through ``customer(id:)``: both are computed now, so a customer read
that differs from them was served stale.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

BADGE = "query { viewer { balance { available } } }"
DASHBOARD_FIELDS = """
    balance { available pending expiringSoon(withinDays: 30) nextExpiry { expiresAt points } }
    tier { id name rank }
    tierProgress { nextTier { id name threshold } metric value remaining }
    offers(first: 20) {
      nodes {
        offer { id kind name valueType value loyaltyPrice }
        canRedeem reason assigned punches
      }
      pageInfo { hasNextPage endCursor }
    }
    ledger(first: 10) {
      nodes { id kind points balanceAfter reason createdAt }
      pageInfo { hasNextPage endCursor }
    }
    vouchers { id code status expiresAt amountOff { amount } }
"""
DASHBOARD = f"""
query Dashboard {{
  viewer {{{DASHBOARD_FIELDS}  }}
}}
"""
"""The dashboard exactly as bench-storefront sends it."""

DASHBOARD_OF_CUSTOMER = f"""
query DashboardOfCustomer($id: ID!) {{
  customer(id: $id) {{{DASHBOARD_FIELDS}  }}
}}
"""
"""The dashboard's selection as staff read it (not a customer-token read)."""

LEDGER_OF_CUSTOMER = """
query LedgerOfCustomer($s: ID!, $c: ID!, $after: String) {
  ledgerEntries(siteId: $s, first: 100, after: $after, filter: {customerId: $c}) {
    nodes { id points pendingPoints balanceAfter }
    pageInfo { hasNextPage endCursor }
  }
}
"""

_unique = itertools.count(1)


def fresh(document: str) -> tuple[str, str]:
    """``document`` with an alias no other request used, at the top and inside
    ``viewer``; the document and the alias (the response has it, with ``__typename``)."""
    alias = f"fresh_{next(_unique)}"
    head, brace, rest = document.partition("{")
    assert brace, document
    rest = rest.replace("viewer {", f"viewer {{ {alias}: __typename", 1)
    return f"{head}{{ {alias}: __typename{rest}", alias


def without(alias: str, data: dict[str, Any]) -> dict[str, Any]:
    """The response data without ``fresh``'s alias (at the top and in ``viewer``)."""
    data = {k: v for k, v in data.items() if k != alias}
    if isinstance(data.get("viewer"), dict):
        data["viewer"] = {k: v for k, v in data["viewer"].items() if k != alias}
    return data


def entry_pk(global_id: str) -> int:
    """The database id inside a LedgerEntry's global ID (ids grow with every entry)."""
    kind, _, pk = base64.b64decode(global_id).decode().partition(":")
    assert kind == "LedgerEntry", global_id
    return int(pk)


def dashboard_problems(viewer: dict[str, Any], *, ledger: bool = True) -> list[str]:
    """What makes a dashboard disagree with itself: a balance that is not its newest
    ledger entry's (unless not ``ledger``), a reward it says can (or cannot) be bought
    against that balance."""
    problems = []
    available = viewer["balance"]["available"]
    entries = viewer["ledger"]["nodes"]
    if ledger and entries and entries[0]["balanceAfter"] != available:
        problems.append(f"available {available} != newest balanceAfter {entries[0]}")
    if ledger and not entries and available != 0:
        problems.append(f"available {available} without a ledger entry")
    for item in viewer["offers"]["nodes"]:
        price = (item["offer"] or {}).get("loyaltyPrice")
        if price is None:
            continue
        if item["canRedeem"] and price > available:
            problems.append(f"{item['offer']['name']} ({price}) redeemable with {available}")
        if item["reason"] == "INSUFFICIENT_POINTS" and price <= available:
            problems.append(f"{item['offer']['name']} ({price}) short with {available}")
    return problems
