"""Demo data: one site with its program on and a few customers."""

from __future__ import annotations

from decimal import Decimal

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.sites import site_code_taken
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramChanges, ThresholdReward, ValidityPolicy
from loyalty_gql.services import customers, sites
from loyalty_gql.services.core.common import Actor, system_clock
from loyalty_gql.services.offers import catalog as offers

DEMO_SITE = "demo"
DEMO_CUSTOMERS = (
    ("cust-1001", "ada@example.com", "Ada Lovelace", ("vip",)),
    ("cust-1002", "alan@example.com", "Alan Turing", ()),
    ("cust-1003", "grace@example.com", "Grace Hopper", ("staff",)),
)


async def seed_demo(db: Database) -> bool:
    """Create the demo site and customers unless they exist; True when created."""
    async with db.read_sessions() as session:
        if await site_code_taken(session, DEMO_SITE):
            return False
    actor = Actor("admin", "seed-demo")
    site = await sites.create_site(
        db, code=DEMO_SITE, name="Demo Shop", currency="EUR", actor=actor, clock=system_clock
    )
    await sites.configure_program(
        db,
        site_id=site.id,
        changes=ProgramChanges(
            enabled=True,
            earn_rate=Decimal(10),
            validity_policy=ValidityPolicy.FIXED_DAYS,
            validity_days=365,
            expiry_warning_days=(60, 30, 14, 7),
            newsletter_signup_points=100,
            product_review_points=50,
            referral_points=500,
            threshold_reward=ThresholdReward(
                enabled=True, points=5000, value=Decimal(10), minimum_order_value=Decimal(50)
            ),
        ),
        actor=actor,
        clock=system_clock,
    )
    for external_id, email, name, groups in DEMO_CUSTOMERS:
        await customers.register_customer(
            db,
            site_id=site.id,
            profile=CustomerProfile(external_id, email, name, groups, marketing_consent=True),
            enroll=True,
            actor=actor,
            clock=system_clock,
        )
    demo_offers = (
        OfferTerms(kind=OfferKind.PROMOTION, name="10% off running shoes",
                   value_type=OfferValueType.PERCENT, value=Decimal(10),
                   scope=OfferScope.CATEGORY, targets=("shoes/running",)),
        OfferTerms(kind=OfferKind.COUPON, name="Welcome: 5.00 off 30.00",
                   value_type=OfferValueType.FIXED_AMOUNT, value=Decimal(5),
                   minimum_order_value=Decimal(30), coupon_code="WELCOME10",
                   max_uses_per_customer=1),
    )  # fmt: skip
    for terms in demo_offers:
        row = await offers.create_offer(
            db, site_id=site.id, terms=terms, actor=actor, clock=system_clock
        )
        await offers.change_status(
            db, offer_id=row.id, action="publish", actor=actor, clock=system_clock
        )
    return True
