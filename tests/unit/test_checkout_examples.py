"""Worked examples of the checkout calculator (domain/checkout.py): exact money and points.

Money is integer minor units of EUR (1000 is 10.00). Each example's comment works out
its numbers by hand so a reader can check them without running the calculator. Unless an
example says otherwise the shopper is a signed-in member (multiplier 1, 800 points to
spend), the site earns 10 points per 1.00 rounded DOWN, and nothing is in a stacking group.

Spreading an order-wide amount over lines is by largest remainder: each line gets
amount x line / sum rounded down, and the cents left over go to the largest remainders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from loyalty_gql.domain.checkout import (
    POINTS_KEY,
    BasketLine,
    Candidate,
    CheckoutRules,
    Origin,
    PriceBase,
    Reason,
    Shopper,
    StackingGroup,
    StackingMode,
    price_basket,
    voucher_terms,
)
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramSettings
from loyalty_gql.domain.values import PointsRounding

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

PERCENT = OfferValueType.PERCENT
FIXED = OfferValueType.FIXED_AMOUNT
FREE = OfferValueType.FREE_ITEM
CATEGORY = OfferScope.CATEGORY
PRODUCT = OfferScope.PRODUCT

STACK = StackingMode.STACK
BEST = StackingMode.BEST_FOR_CUSTOMER
FIRST = StackingMode.FIRST_BY_PRIORITY
ORIGINAL = PriceBase.ORIGINAL
DISCOUNTED = PriceBase.DISCOUNTED

NOT_COMBINABLE = Reason.NOT_COMBINABLE

KIND_OF = {
    Origin.PROMOTION: OfferKind.PROMOTION,
    Origin.CLUBCARD: OfferKind.CLUBCARD,
    Origin.PUNCHCARD: OfferKind.PUNCHCARD,
    Origin.COUPON_CODE: OfferKind.COUPON,
    Origin.VOUCHER: OfferKind.REWARD,
    Origin.ASSIGNED: OfferKind.COUPON,
}

MEMBER = Shopper(groups=frozenset({"newsletter"}), tier_id=1, available_points=800)


# -- building blocks ----------------------------------------------------------------------


def rules(
    rounding: PointsRounding = PointsRounding.DOWN,
    *,
    groups: Mapping[str, tuple[StackingMode, PriceBase]] | None = None,
    point_value: str | None = None,
) -> CheckoutRules:
    """EUR, 10 points per 1.00, the given rounding and stacking groups."""
    settings = ProgramSettings(currency="EUR", earn_rate=Decimal(10), points_rounding=rounding)
    settings.check()
    return CheckoutRules(
        settings=settings,
        groups={
            name: StackingGroup(name, mode, base) for name, (mode, base) in (groups or {}).items()
        },
        point_value=None if point_value is None else Decimal(point_value),
    )


def item(
    line_id: str,
    unit_price: int,
    quantity: int = 1,
    category: str = "misc",
    *,
    product: str | None = None,
    no_points: bool = False,
) -> BasketLine:
    """A basket line; its product id is its line id unless given."""
    return BasketLine(
        line_id=line_id,
        product_id=product or line_id,
        category=category,
        quantity=quantity,
        unit_price=unit_price,
        exclude_from_points=no_points,
    )


def offer(
    key: str,
    value_type: OfferValueType,
    value: str | None = None,
    *,
    origin: Origin = Origin.PROMOTION,
    uses: int = 0,
    punches: int = 0,
    **terms: Any,
) -> Candidate:
    """A candidate whose terms pass OfferTerms.check; "offer:7" has offer id 7."""
    full_terms = OfferTerms(
        kind=KIND_OF[origin],
        name=key,
        value_type=value_type,
        value=None if value is None else Decimal(value),
        **terms,
    )
    full_terms.check("EUR")
    suffix = key.rsplit(":", 1)[-1]
    return Candidate(
        key=key,
        origin=origin,
        terms=full_terms,
        offer_id=int(suffix) if suffix.isdigit() else None,
        uses=uses,
        punches=punches,
        code=suffix if origin is Origin.COUPON_CODE else None,
    )


def voucher(
    key: str, amount: str, *, expires_at: datetime | None = None, minimum: str = "0"
) -> Candidate:
    """A voucher for ``amount`` off the order, bought from a reward (offer 90)."""
    base = OfferTerms(
        kind=OfferKind.REWARD,
        name="5 euro voucher",
        value_type=FIXED,
        value=Decimal(amount),
        loyalty_price=500,
    )
    terms = voucher_terms(
        base,
        value_type=FIXED,
        value=Decimal(amount),
        minimum_order_value=Decimal(minimum),
        expires_at=expires_at,
    )
    terms.check("EUR")
    return Candidate(
        key=key,
        origin=Origin.VOUCHER,
        terms=terms,
        offer_id=90,
        counts_use=False,
        voucher_id=int(key.rsplit(":", 1)[-1]),
    )


def card(
    key: str, punches: int, required: int = 5, *, minimum_quantity: int = 1, **terms: Any
) -> Candidate:
    """A punchcard: one free unit of the "coffee" category once ``required`` punches."""
    return offer(
        key,
        FREE,
        origin=Origin.PUNCHCARD,
        punches=punches,
        scope=CATEGORY,
        targets=("coffee",),
        punches_required=required,
        punch_minimum_quantity=minimum_quantity,
        **terms,
    )


@dataclass(frozen=True, kw_only=True)
class Punch:
    """What a punchcard should show after the basket."""

    before: int
    after: int
    reward_line_id: str | None = None
    reward_amount: int = 0


@dataclass(frozen=True, kw_only=True)
class Payment:
    """What paying with points should show."""

    used: int
    amount: int
    reason: Reason | None = None


@dataclass(frozen=True, kw_only=True)
class Example:
    """A basket, its offers, and everything the quote must say."""

    lines: tuple[BasketLine, ...]
    candidates: tuple[Candidate, ...] = ()
    shopper: Shopper | None = MEMBER
    rules: CheckoutRules = field(default_factory=rules)
    pay_points: int = 0
    finals: Mapping[str, int]  # line id -> what is paid for the line
    total: int
    points: int
    applied: Mapping[str, int] = field(default_factory=dict)  # key -> amount taken off
    rejected: Mapping[str, Reason] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)  # key -> rejection message
    cuts: Mapping[str, Mapping[str, int]] | None = None  # line id -> key -> amount, if given
    member: Mapping[str, int] = field(default_factory=dict)  # line id -> member discount
    punches: Mapping[str, Punch] = field(default_factory=dict)
    payment: Payment | None = None


# -- the examples ---------------------------------------------------------------------------

EXAMPLES = [
    # == one per kind of offer and origin ==
    pytest.param(
        Example(
            lines=(item("shirt", 1999), item("socks", 1000)),
            candidates=(offer("offer:1", PERCENT, "10"),),
            # 10% of 29.99 = 2.999 -> 3.00, spread over 19.99 / 10.00:
            # 300 x 1999 / 2999 = 199.97 -> 199 (remainder .97), 300 x 1000 / 2999 = 100.03
            # -> 100; the 1 cent left goes to shirt: 2.00 / 1.00
            cuts={"shirt": {"offer:1": 200}, "socks": {"offer:1": 100}},
            finals={"shirt": 1799, "socks": 900},
            total=2699,
            applied={"offer:1": 300},
            points=269,  # 26.99 x 10 = 269.9 -> DOWN 269
        ),
        id="promotion-percent-order-wide",
    ),
    pytest.param(
        Example(
            lines=(
                item("shirt", 2500, 1, "clothes/shirts"),
                item("jeans", 3000, 2, "clothes/jeans"),
                item("apple", 150, 1, "food"),
            ),
            candidates=(offer("offer:2", FIXED, "5.00", scope=CATEGORY, targets=("clothes",)),),
            # 5.00 over the clothes (25.00 + 60.00 = 85.00), apple is out of scope:
            # 500 x 2500 / 8500 = 147.06 -> 147, 500 x 6000 / 8500 = 352.94 -> 352,
            # the cent left goes to jeans (larger remainder): 1.47 / 3.53
            cuts={"shirt": {"offer:2": 147}, "jeans": {"offer:2": 353}, "apple": {}},
            finals={"shirt": 2353, "jeans": 5647, "apple": 150},
            total=8150,  # 85.00 + 1.50 - 5.00
            applied={"offer:2": 500},
            points=815,  # 81.50 x 10
        ),
        id="promotion-fixed-on-category",
    ),
    pytest.param(
        Example(
            lines=(item("coffee", 450, 3, "drinks"), item("cake", 200, 1, "bakery")),
            candidates=(offer("offer:3", FREE, scope=PRODUCT, targets=("coffee",)),),
            # one coffee free (4.50); the cake is cheaper but not the product
            finals={"coffee": 900, "cake": 200},
            total=1100,
            applied={"offer:3": 450},
            points=110,
        ),
        id="promotion-free-item-on-product",
    ),
    pytest.param(
        Example(
            lines=(item("lamp", 4000),),
            candidates=(
                offer(
                    "code:SAVE10",
                    PERCENT,
                    "10",
                    origin=Origin.COUPON_CODE,
                    minimum_order_value=Decimal("50.00"),
                ),
            ),
            # 40.00 < 50.00: refused, nothing off
            finals={"lamp": 4000},
            total=4000,
            rejected={"code:SAVE10": Reason.BELOW_MINIMUM},
            points=400,
        ),
        id="coupon-code-below-minimum",
    ),
    pytest.param(
        Example(
            lines=(item("lamp", 5000),),
            candidates=(
                offer(
                    "code:SAVE10",
                    PERCENT,
                    "10",
                    origin=Origin.COUPON_CODE,
                    minimum_order_value=Decimal("50.00"),
                ),
            ),
            # exactly the 50.00 minimum is enough: 10% of 50.00 = 5.00
            finals={"lamp": 4500},
            total=4500,
            applied={"code:SAVE10": 500},
            points=450,
        ),
        id="coupon-code-at-minimum",
    ),
    pytest.param(
        Example(
            lines=(item("lamp", 6000),),
            candidates=(
                offer(
                    "code:SAVE10",
                    PERCENT,
                    "10",
                    origin=Origin.COUPON_CODE,
                    minimum_order_value=Decimal("50.00"),
                ),
            ),
            # 60.00 >= 50.00: 10% of 60.00 = 6.00
            finals={"lamp": 5400},
            total=5400,
            applied={"code:SAVE10": 600},
            points=540,
        ),
        id="coupon-code-above-minimum",
    ),
    pytest.param(
        Example(
            lines=(item("a", 800), item("b", 434)),
            candidates=(voucher("voucher:12", "5.00", expires_at=NOW + 30 * DAY),),
            # 5.00 over 8.00 / 4.34 (12.34): 500 x 800 / 1234 = 324.15 -> 324,
            # 500 x 434 / 1234 = 175.85 -> 175, the cent left goes to b: 3.24 / 1.76
            cuts={"a": {"voucher:12": 324}, "b": {"voucher:12": 176}},
            finals={"a": 476, "b": 258},
            total=734,  # 12.34 - 5.00
            applied={"voucher:12": 500},
            points=73,  # 7.34 x 10 = 73.4 -> 73
        ),
        id="voucher-fixed-order-wide",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1234),),
            candidates=(voucher("voucher:12", "5.00", expires_at=NOW - DAY),),
            finals={"a": 1234},
            total=1234,
            rejected={"voucher:12": Reason.EXPIRED},
            points=123,  # 12.34 x 10 = 123.4 -> 123
        ),
        id="voucher-expired",
    ),
    pytest.param(
        Example(
            lines=(item("wine", 1250, 1, "drinks/wine"), item("bread", 300, 1, "bakery")),
            candidates=(
                offer(
                    "offer:4",
                    PERCENT,
                    "20",
                    origin=Origin.CLUBCARD,
                    scope=CATEGORY,
                    targets=("drinks",),
                ),
            ),
            # member price on drinks (wine is in drinks/wine): 20% of 12.50 = 2.50
            finals={"wine": 1000, "bread": 300},
            member={"wine": 250},
            total=1300,
            applied={"offer:4": 250},
            points=130,
        ),
        id="clubcard-member-price-on-category",
    ),
    pytest.param(
        Example(
            lines=(
                item("latte", 380, 2, "coffee"),
                item("espresso", 220, 1, "coffee/espresso"),
                item("scone", 200, 1, "bakery"),
            ),
            candidates=(card("card:5", punches=5, required=5),),
            # full card: the cheapest coffee unit is free (espresso 2.20; the scone is
            # cheaper but not coffee); the card starts again at 5 - 5 = 0
            finals={"latte": 760, "espresso": 0, "scone": 200},
            total=960,
            applied={"card:5": 220},
            punches={
                "card:5": Punch(before=5, after=0, reward_line_id="espresso", reward_amount=220)
            },
            points=96,
        ),
        id="punchcard-full-gives-cheapest-unit",
    ),
    pytest.param(
        Example(
            lines=(item("latte", 380, 1, "coffee"),),
            candidates=(card("card:5", punches=2, required=5),),
            # 2 of 5: nothing off, one punch more; neither applied nor rejected
            finals={"latte": 380},
            total=380,
            punches={"card:5": Punch(before=2, after=3)},
            points=38,
        ),
        id="punchcard-not-full-collects-a-punch",
    ),
    pytest.param(
        Example(
            lines=(item("latte", 380, 1, "coffee"),),
            candidates=(card("card:5", punches=4, required=5),),
            # the 5th punch fills the card; the free item comes with the next order
            finals={"latte": 380},
            total=380,
            punches={"card:5": Punch(before=4, after=5)},
            points=38,
        ),
        id="punchcard-last-punch-fills-the-card",
    ),
    pytest.param(
        Example(
            lines=(item("latte", 380, 1, "coffee"), item("scone", 200, 3, "bakery")),
            candidates=(card("card:5", punches=2, required=5, minimum_quantity=2),),
            # 1 coffee in scope < 2 needed (the 3 scones do not count): no punch
            finals={"latte": 380, "scone": 600},
            total=980,
            punches={"card:5": Punch(before=2, after=2)},
            points=98,
        ),
        id="punchcard-minimum-quantity-not-met",
    ),
    # == combination modes ==
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=1, stacking_group="g1"),
                offer("offer:2", PERCENT, "10", stacking_group="g1"),
            ),
            rules=rules(groups={"g1": (STACK, DISCOUNTED)}),
            # 10% of 100.00 = 10.00, then 10% of the 90.00 left = 9.00: 19% in all
            finals={"tv": 8100},
            total=8100,
            applied={"offer:1": 1000, "offer:2": 900},
            points=810,
        ),
        id="stack-on-discounted",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=1, stacking_group="g1"),
                offer("offer:2", PERCENT, "10", stacking_group="g1"),
            ),
            rules=rules(groups={"g1": (STACK, ORIGINAL)}),
            # both on the original 100.00: 10.00 + 10.00 = 20%
            finals={"tv": 8000},
            total=8000,
            applied={"offer:1": 1000, "offer:2": 1000},
            points=800,
        ),
        id="stack-on-original",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=1),
                offer("offer:2", PERCENT, "10"),
            ),
            # no group: each stacks on what is left, 10.00 then 9.00
            finals={"tv": 8100},
            total=8100,
            applied={"offer:1": 1000, "offer:2": 900},
            points=810,
        ),
        id="no-group-stacks-on-what-is-left",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=5, stacking_group="g1"),
                offer("offer:2", FIXED, "15.00", stacking_group="g1"),
            ),
            rules=rules(groups={"g1": (BEST, DISCOUNTED)}),
            # 10% = 10.00 against 15.00: the larger one applies
            finals={"tv": 8500},
            total=8500,
            applied={"offer:2": 1500},
            rejected={"offer:1": NOT_COMBINABLE},
            points=850,
        ),
        id="best-for-customer",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=5, stacking_group="g1"),
                offer("offer:2", FIXED, "15.00", stacking_group="g1"),
            ),
            rules=rules(groups={"g1": (FIRST, DISCOUNTED)}),
            # priority 5 beats priority 0 although 10.00 < 15.00
            finals={"tv": 9000},
            total=9000,
            applied={"offer:1": 1000},
            rejected={"offer:2": NOT_COMBINABLE},
            points=900,
        ),
        id="first-by-priority",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:1", PERCENT, "5", priority=10, exclusive=True),
                offer("offer:2", PERCENT, "10"),
                voucher("voucher:12", "5.00"),
            ),
            # the exclusive 5% comes first and stands alone: 5.00 off, the others refused
            finals={"tv": 9500},
            total=9500,
            applied={"offer:1": 500},
            rejected={"offer:2": NOT_COMBINABLE, "voucher:12": NOT_COMBINABLE},
            points=950,
        ),
        id="exclusive-first-stands-alone",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10", priority=10),
                offer("offer:1", PERCENT, "20", exclusive=True),
            ),
            # 10% applied first (10.00), so the larger exclusive 20% cannot join
            finals={"tv": 9000},
            total=9000,
            applied={"offer:2": 1000},
            rejected={"offer:1": NOT_COMBINABLE},
            points=900,
        ),
        id="exclusive-after-another-is-refused",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("code:7", FIXED, "5.00", origin=Origin.COUPON_CODE),
                offer("assigned:7", FIXED, "5.00", origin=Origin.ASSIGNED),
            ),
            # coupon 7 entered by its code and chosen as assigned is one coupon: 5.00 once
            finals={"tv": 9500},
            total=9500,
            applied={"code:7": 500},
            rejected={"assigned:7": Reason.DUPLICATE},
            points=950,
        ),
        id="assigned-coupon-and-its-code-are-one-coupon",
    ),
    # == best for the customer with an exclusive offer (its group's rule: BEST_FOR_CUSTOMER)
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10", priority=10),
                offer(
                    "offer:1",
                    PERCENT,
                    "20",
                    origin=Origin.COUPON_CODE,
                    exclusive=True,
                    stacking_group="best",
                ),
            ),
            rules=rules(groups={"best": (BEST, DISCOUNTED)}),
            # the others together: 10% of 100.00 = 10.00 -> 90.00; the exclusive coupon
            # alone: 20% = 20.00 -> 80.00. 80.00 < 90.00: the coupon wins, alone
            finals={"tv": 8000},
            total=8000,
            applied={"offer:1": 2000},
            rejected={"offer:2": NOT_COMBINABLE},
            messages={
                "offer:2": 'best for the customer: exclusive "offer:1" alone costs'
                " 80.00 EUR, the others 90.00 EUR"
            },
            points=800,
        ),
        id="best-for-customer-exclusive-coupon-wins",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10", priority=10),
                offer("offer:3", FIXED, "15.00"),
                offer(
                    "offer:1",
                    PERCENT,
                    "20",
                    origin=Origin.COUPON_CODE,
                    exclusive=True,
                    stacking_group="best",
                ),
            ),
            rules=rules(groups={"best": (BEST, DISCOUNTED)}),
            # the others together: 10.00, then 15.00 off the 90.00 left -> 75.00; the
            # exclusive coupon alone: 80.00. 75.00 < 80.00: the others win
            finals={"tv": 7500},
            total=7500,
            applied={"offer:2": 1000, "offer:3": 1500},
            rejected={"offer:1": NOT_COMBINABLE},
            messages={
                "offer:1": 'best for the customer: "offer:2" + "offer:3" together cost'
                " 75.00 EUR, this offer alone 80.00 EUR"
            },
            points=750,
        ),
        id="best-for-customer-exclusive-coupon-loses-to-the-combination",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10"),
                offer(
                    "offer:1",
                    PERCENT,
                    "10",
                    origin=Origin.COUPON_CODE,
                    exclusive=True,
                    stacking_group="best",
                ),
            ),
            rules=rules(groups={"best": (BEST, DISCOUNTED)}),
            # 90.00 either way: a tie goes to the others (the coupon keeps its use)
            finals={"tv": 9000},
            total=9000,
            applied={"offer:2": 1000},
            rejected={"offer:1": NOT_COMBINABLE},
            messages={
                "offer:1": 'best for the customer: "offer:2" costs 90.00 EUR,'
                " this offer alone 90.00 EUR"
            },
            points=900,
        ),
        id="best-for-customer-tie-goes-to-the-others",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10", priority=10),
                offer("offer:1", PERCENT, "20", exclusive=True, stacking_group="best"),
                offer("offer:4", FIXED, "25.00", exclusive=True, stacking_group="best"),
            ),
            rules=rules(groups={"best": (BEST, DISCOUNTED)}),
            # the others: 90.00; offer:1 alone 80.00; offer:4 alone 75.00: offer:4 wins
            finals={"tv": 7500},
            total=7500,
            applied={"offer:4": 2500},
            rejected={"offer:1": NOT_COMBINABLE, "offer:2": NOT_COMBINABLE},
            messages={
                "offer:1": 'best for the customer: exclusive "offer:4" alone costs'
                " 75.00 EUR, this offer alone 80.00 EUR",
                "offer:2": 'best for the customer: exclusive "offer:4" alone costs'
                " 75.00 EUR, the others 90.00 EUR",
            },
            points=750,
        ),
        id="best-for-customer-two-exclusive-offers-compete",
    ),
    pytest.param(
        Example(
            lines=(item("tv", 10000),),
            candidates=(
                offer("offer:2", PERCENT, "10", priority=10),
                offer("offer:1", PERCENT, "20", exclusive=True, stacking_group="g1"),
            ),
            rules=rules(groups={"g1": (STACK, DISCOUNTED)}),
            # a group of another mode does not ask for the best price: rule 4 as before,
            # the 10% applied first and the exclusive 20% cannot join
            finals={"tv": 9000},
            total=9000,
            applied={"offer:2": 1000},
            rejected={"offer:1": NOT_COMBINABLE},
            messages={"offer:1": "an exclusive offer stands alone"},
            points=900,
        ),
        id="exclusive-in-a-stack-group-stands-alone-as-before",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1200), item("b", 800)),
            candidates=(
                voucher("voucher:12", "50.00"),
                offer("offer:2", PERCENT, "10", priority=-1),
            ),
            # 50.00 off a 20.00 basket takes 20.00 (12.00 / 8.00), never below zero;
            # the 10% after it finds nothing left
            finals={"a": 0, "b": 0},
            total=0,
            applied={"voucher:12": 2000},
            rejected={"offer:2": Reason.NO_MATCHING_ITEMS},
            points=0,
        ),
        id="fixed-amount-larger-than-basket",
    ),
    pytest.param(
        Example(
            lines=(item("latte", 380, 1, "coffee"),),
            candidates=(
                offer("offer:1", PERCENT, "10", priority=10, exclusive=True),
                card("card:5", punches=6, required=4),
            ),
            # An admin lowered the card from 6 to 4 punches: the card holds 6. The exclusive
            # 10% (0.38) blocks its reward, so it must keep its 6 punches (no reward given,
            # and a card that is already full gains nothing), not drop to min(6 + 1, 4) = 4.
            finals={"latte": 342},
            total=342,
            applied={"offer:1": 38},
            rejected={"card:5": NOT_COMBINABLE},
            punches={"card:5": Punch(before=6, after=6)},
            points=34,  # 3.42 x 10 = 34.2 -> 34
        ),
        id="punchcard-over-full-and-blocked-keeps-its-punches",
    ),
    # == points ==
    pytest.param(
        Example(
            lines=(item("a", 1234),),
            finals={"a": 1234},
            total=1234,
            points=123,  # 12.34 x 10 = 123.4 -> DOWN 123
        ),
        id="points-rounded-down",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1234),),
            rules=rules(PointsRounding.UP),
            finals={"a": 1234},
            total=1234,
            points=124,  # 123.4 -> UP 124
        ),
        id="points-rounded-up",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1234),),
            rules=rules(PointsRounding.HALF_UP),
            finals={"a": 1234},
            total=1234,
            points=123,  # 123.4 -> HALF_UP 123
        ),
        id="points-half-up-below-half",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1235),),
            rules=rules(PointsRounding.HALF_UP),
            finals={"a": 1235},
            total=1235,
            points=124,  # 12.35 x 10 = 123.5 -> HALF_UP 124
        ),
        id="points-half-up-at-half",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1235),),
            shopper=Shopper(tier_id=2, earn_multiplier=Decimal("1.5")),
            finals={"a": 1235},
            total=1235,
            points=185,  # 12.35 x 10 x 1.5 = 185.25 -> DOWN 185
        ),
        id="points-tier-multiplier",
    ),
    pytest.param(
        Example(
            lines=(item("book", 1000), item("giftcard", 2500, no_points=True)),
            candidates=(offer("offer:1", PERCENT, "10"),),
            # 10% of 35.00 = 3.50: 350 x 1000 / 3500 = 100, 350 x 2500 / 3500 = 250;
            # only the book's 9.00 earns points
            finals={"book": 900, "giftcard": 2250},
            total=3150,
            applied={"offer:1": 350},
            points=90,
        ),
        id="points-line-excluded-from-points",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1000),),
            candidates=(
                offer("offer:1", PERCENT, "10", reward_points=50),
                offer(
                    "code:BIG",
                    PERCENT,
                    "10",
                    origin=Origin.COUPON_CODE,
                    reward_points=100,
                    minimum_order_value=Decimal("100.00"),
                ),
            ),
            # 10.00 - 1.00 = 9.00 -> 90 points, + 50 for the applied offer; the refused
            # code's 100 reward points are not given
            finals={"a": 900},
            total=900,
            applied={"offer:1": 100},
            rejected={"code:BIG": Reason.BELOW_MINIMUM},
            points=140,
        ),
        id="points-offer-reward-points",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1000),),
            candidates=(offer("offer:1", PERCENT, "10", reward_points=50),),
            shopper=None,
            # a guest gets the promotion (1.00 off) but no points, not even reward points
            finals={"a": 900},
            total=900,
            applied={"offer:1": 100},
            points=0,
        ),
        id="guest-gets-promotions-but-no-points",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1000),),
            candidates=(
                offer("offer:1", PERCENT, "5"),
                offer("offer:5", PERCENT, "10", customer_groups=("vip",)),
                offer("offer:6", PERCENT, "10", tier_ids=(2,)),
            ),
            shopper=None,
            # group and tier offers are for signed-in customers; the open 5% applies (0.50)
            finals={"a": 950},
            total=950,
            applied={"offer:1": 50},
            rejected={"offer:5": Reason.NOT_ELIGIBLE, "offer:6": Reason.NOT_ELIGIBLE},
            points=0,
        ),
        id="guest-not-eligible-for-group-or-tier-offers",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1000),),
            candidates=(
                offer("offer:1", PERCENT, "5"),
                offer("offer:5", PERCENT, "10", customer_groups=("vip",)),
                offer("offer:6", PERCENT, "10", tier_ids=(2,)),
            ),
            shopper=Shopper(groups=frozenset({"vip"}), tier_id=2),
            # same priority and kind: by offer id. 5% of 10.00 = 0.50, 10% of 9.50 = 0.95,
            # 10% of 8.55 = 0.855 -> 0.86; 10.00 - 0.50 - 0.95 - 0.86 = 7.69
            finals={"a": 769},
            total=769,
            applied={"offer:1": 50, "offer:5": 95, "offer:6": 86},
            points=76,  # 76.9 -> 76
        ),
        id="member-in-group-and-tier-gets-all-three",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1000),),
            candidates=(
                offer("offer:1", PERCENT, "10", max_uses=100, uses=100),
                offer("offer:2", PERCENT, "10", max_uses=100, uses=99),
            ),
            # offer 1 is used up (100 of 100); offer 2 has one use left: 1.00 off
            finals={"a": 900},
            total=900,
            applied={"offer:2": 100},
            rejected={"offer:1": Reason.LIMIT_REACHED},
            points=90,
        ),
        id="max-uses-reached",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1200), item("b", 800)),
            rules=rules(point_value="0.01"),
            pay_points=500,
            # 500 x 0.01 = 5.00 off, spread 500 x 1200 / 2000 = 300 and 200;
            # points on the 15.00 left: 150
            cuts={"a": {POINTS_KEY: 300}, "b": {POINTS_KEY: 200}},
            finals={"a": 900, "b": 600},
            total=1500,
            payment=Payment(used=500, amount=500),
            points=150,
        ),
        id="pay-with-points",
    ),
    pytest.param(
        Example(
            lines=(item("a", 1200), item("b", 800)),
            rules=rules(point_value="0.01"),
            pay_points=900,
            # 900 asked, 800 available: refused, nothing off, points on 20.00
            cuts={"a": {}, "b": {}},
            finals={"a": 1200, "b": 800},
            total=2000,
            payment=Payment(used=0, amount=0, reason=Reason.NOT_ELIGIBLE),
            points=200,
        ),
        id="pay-with-more-points-than-available",
    ),
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_worked_example(example: Example) -> None:
    quote = price_basket(
        example.lines,
        example.shopper,
        example.candidates,
        example.rules,
        NOW,
        pay_points=example.pay_points,
    )

    assert {q.line.line_id: q.final for q in quote.lines} == example.finals
    assert quote.total == example.total
    assert quote.subtotal == sum(line.amount for line in example.lines)
    assert {a.candidate.key: a.amount for a in quote.applied} == example.applied
    assert {r.candidate.key: r.refusal.reason for r in quote.rejected} == example.rejected
    messages = {r.candidate.key: r.refusal.message for r in quote.rejected}
    assert {k: messages[k] for k in example.messages} == example.messages
    assert quote.points == example.points
    assert {q.line.line_id: q.member_discount for q in quote.lines} == {
        line.line_id: example.member.get(line.line_id, 0) for line in example.lines
    }
    if example.cuts is not None:
        cuts = {q.line.line_id: {d.key: d.amount for d in q.discounts} for q in quote.lines}
        assert {k: cuts[k] for k in example.cuts} == example.cuts
    assert {
        p.candidate.key: Punch(
            before=p.before,
            after=p.after,
            reward_line_id=p.reward_line_id,
            reward_amount=p.reward_amount,
        )
        for p in quote.punchcards
    } == example.punches
    if example.payment is None:
        assert quote.points_payment is None
    else:
        assert quote.points_payment is not None
        assert quote.points_payment.requested == example.pay_points
        refusal = quote.points_payment.refusal
        assert (
            Payment(
                used=quote.points_payment.used,
                amount=quote.points_payment.amount,
                reason=None if refusal is None else refusal.reason,
            )
            == example.payment
        )
