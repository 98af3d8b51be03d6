"""Setting up sites and enrolled customers through the services, for ledger tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import customers, sites
from loyalty_gql.services.core.common import Actor, Clock

ADMIN = Actor("admin", "tester")
SERVICE = Actor("service", "shop")


@dataclass
class Shop:
    """A site and its enrolled customers' ids."""

    site_id: int
    customer_ids: list[int]


async def shop(
    db: Database, clock: Clock, *, code: str = "shop", customers_count: int = 1, **settings: Any
) -> Shop:
    """A site with its program on (plus ``settings``) and enrolled customers."""
    site = await sites.create_site(
        db, code=code, name="Shop", currency="EUR", actor=ADMIN, clock=clock
    )
    await sites.configure_program(
        db,
        site_id=site.id,
        changes=ProgramChanges(enabled=True, **settings),
        actor=ADMIN,
        clock=clock,
    )
    ids = []
    for n in range(customers_count):
        row = await customers.register_customer(
            db,
            site_id=site.id,
            profile=CustomerProfile(f"c-{n}"),
            enroll=True,
            actor=SERVICE,
            clock=clock,
        )
        ids.append(row.id)
    return Shop(site.id, ids)
