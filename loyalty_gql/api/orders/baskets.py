"""A basket as the checkout query and recordOrder take it, and its check."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.resolving import (
    AppInfo,
)
from loyalty_gql.domain.checkout import BasketLine
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services.checkout import Basket

SITE_ID = "Global ID of the site."
ORDER_ID = "The shop's order id (1-128 characters), unique per site."
ASSIGNED_OFFERS = (
    "Global IDs of coupons assigned to the customer (assignOffer), to apply without a code "
    "(up to 20): each applies as an entered coupon code would, within its maxUses and "
    "maxUsesPerCustomer, and recordOrder counts its use; one not assigned to this customer "
    "is rejected with NOT_ASSIGNED."
)


@strawberry.input(description="One line of a basket.")
class BasketLineInput:
    """A product, how many, and at what price."""

    product_id: str = strawberry.field(description="The product's id in the shop.")
    quantity: int = strawberry.field(description="How many (1-100,000).")
    unit_price: Decimal = strawberry.field(
        description="Price of one, in the site's currency, with at most its decimal places."
    )
    category: str = strawberry.field(
        default="", description="Category path such as shoes/running; category offers match it."
    )
    line_id: str | None = strawberry.field(
        default=None,
        description="Tells lines of one product apart; defaults to the product id.",
    )
    exclude_from_points: bool = strawberry.field(
        default=False, description="The line earns no points (gift cards, deposits, shipping)."
    )


CHANNEL = (
    "The channel the order comes from, a label of the shop's (web, app, store; 1-40 "
    "characters): campaigns may be limited to some channels. Default: none."
)


@strawberry.input(description="A basket to price.")
class CheckoutInput:
    """The basket, and the codes, vouchers and points the customer chose."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    lines: list[BasketLineInput] = strawberry.field(description="The lines (1-500).")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global ID of the customer (service and admin tokens); a customer token "
        "prices its own basket; without either the basket is a guest's.",
    )
    coupon_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupon codes entered (up to 20)."
    )
    vouchers: list[str] = strawberry.field(
        default_factory=list, description="Codes of the customer's vouchers to use (up to 20)."
    )
    pay_with_points: int = strawberry.field(
        default=0, description="Points to pay with, at the site's point value."
    )
    offers: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=ASSIGNED_OFFERS
    )
    channel: str | None = strawberry.field(default=None, description=CHANNEL)


@strawberry.input(description="An order to record: the basket the customer bought.")
class RecordOrderInput:
    """The order id and the basket."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    order_id: str = strawberry.field(description=ORDER_ID)
    lines: list[BasketLineInput] = strawberry.field(description="The lines (1-500).")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; null for a guest order."
    )
    coupon_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupon codes entered."
    )
    vouchers: list[str] = strawberry.field(
        default_factory=list, description="Codes of the customer's vouchers used."
    )
    pay_with_points: int = strawberry.field(default=0, description="Points paid with.")
    offers: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=ASSIGNED_OFFERS
    )
    channel: str | None = strawberry.field(default=None, description=CHANNEL)
    expected_total: Decimal | None = strawberry.field(
        default=None,
        description="The total the customer was quoted and charged. When the order's "
        "recalculation differs (a voucher used meanwhile, an offer ended), the order is not "
        "recorded: QUOTE_CHANGED with both totals. Default: not checked.",
    )
    expected_points: int | None = strawberry.field(
        default=None,
        description="The points the quote said the order earns (its points field); checked "
        "like expectedTotal. Default: not checked.",
    )
    expected_points_paid: int | None = strawberry.field(
        default=None,
        description="The points the quote used for payment (pointsPayment.used, 0 without "
        "one); checked like expectedTotal. Default: not checked.",
    )


async def basket_of(info: AppInfo, site_pk: int, data: CheckoutInput | RecordOrderInput) -> Basket:
    site = await info.context.loaders.site_by_id.load(site_pk)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
    return basket_in(site.currency, data)


def basket_in(currency: str, data: CheckoutInput | RecordOrderInput) -> Basket:
    """The basket with its prices in ``currency`` (the site's), checked. recordOrder
    hands this to the service, which calls it with the currency of the site it reads
    under the order's lock (no read of its own before the transaction)."""
    problems = []
    parsed = []
    for index, line in enumerate(data.lines):
        try:
            price = DomainMoney.from_decimal(line.unit_price, currency).minor_units
        except (ValueError, ArithmeticError):
            problems.append(
                FieldProblem(
                    ("lines", str(index), "unitPrice"),
                    ErrorCode.INVALID_VALUE,
                    f"a {currency} amount with at most its decimal places",
                )
            )
            continue
        parsed.append(
            BasketLine(
                line_id=(line.line_id if line.line_id is not None else line.product_id).strip(),
                product_id=line.product_id.strip(),
                category=line.category.strip().strip("/"),
                quantity=line.quantity,
                unit_price=price,
                exclude_from_points=line.exclude_from_points,
            )
        )
    if problems:
        raise DomainError(problems)
    basket = Basket(
        tuple(parsed),
        tuple(data.coupon_codes),
        tuple(data.vouchers),
        data.pay_with_points,
        tuple(parse_id(offer_id, "Offer") for offer_id in data.offers),
        data.channel,
    )
    basket.check()
    return basket
