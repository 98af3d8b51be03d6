"""Insight types reached from a customer or an offer (no imports of those types)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.permissions import WITHIN_PARENT
from loyalty_gql.db.repositories.insight import OfferUse
from loyalty_gql.domain.insight import Bought
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services.insight import CustomerInsight as CustomerInsightResult


def field(description: str) -> Any:
    """A field of a type only reachable through a checked field."""
    return strawberry.field(description=description, metadata=WITHIN_PARENT)


def money(minor: int, currency: str) -> Money:
    """The GraphQL amount of minor units."""
    return Money.of(DomainMoney(minor, currency))


def maybe_money(minor: int | None, currency: str) -> Money | None:
    """The GraphQL amount, or null."""
    return None if minor is None else money(minor, currency)


@strawberry.type(description="A category a customer bought from.")
class CategoryInsight:
    """Quantity and money of one category path."""

    category: str = field("The category path as the shop sent it on order lines.")
    quantity: int = field("Items bought, less items refunded.")
    spent: Money = field("Money paid for them after discounts, less refunds.")


@strawberry.type(description="A product a customer bought.")
class ProductInsight:
    """Quantity and money of one product."""

    product_id: str = field("The product's id in the shop.")
    quantity: int = field("Items bought, less items refunded.")
    spent: Money = field("Money paid for them after discounts, less refunds.")


def _categories(items: list[Bought], currency: str) -> list[CategoryInsight]:
    return [
        CategoryInsight(category=b.key, quantity=b.quantity, spent=money(b.spent_minor, currency))
        for b in items
    ]


def _products(items: list[Bought], currency: str) -> list[ProductInsight]:
    return [
        ProductInsight(product_id=b.key, quantity=b.quantity, spent=money(b.spent_minor, currency))
        for b in items
    ]


@strawberry.type(
    description="How a customer buys: every order they placed (as a member or not) that "
    "was not cancelled; refunds lower what was spent."
)
class CustomerInsight:
    """Orders, spend and favourites of one customer."""

    order_count: int = field("Orders placed, not cancelled (refunded ones included).")
    first_order_at: datetime | None = field("When the first order was placed.")
    last_order_at: datetime | None = field("When the latest order was placed.")
    average_days_between_orders: float | None = field(
        "Mean days from one order to the next (2 decimals); null below two orders."
    )
    average_order_value: Money | None = field(
        "Total spent divided by the number of orders; null without orders."
    )
    total_spent: Money = field("What the orders cost, less refunds.")
    top_categories: list[CategoryInsight] = field(
        "Up to 5 categories with most money spent (then most items, then by name)."
    )
    top_products: list[ProductInsight] = field(
        "Up to 5 products with most money spent (then most items, then by id)."
    )

    @classmethod
    def of(cls, result: CustomerInsightResult, currency: str) -> CustomerInsight:
        """The GraphQL object of a customer's insight."""
        return cls(
            order_count=result.order_count,
            first_order_at=result.first_order_at,
            last_order_at=result.last_order_at,
            average_days_between_orders=result.average_days_between_orders,
            average_order_value=maybe_money(result.average_order_minor, currency),
            total_spent=money(result.total_spent_minor, currency),
            top_categories=_categories(result.top_categories, currency),
            top_products=_products(result.top_products, currency),
        )


@strawberry.type(description="How an offer did on every order that used it and was not cancelled.")
class OfferPerformance:
    """Uses, buyers, discount and the revenue of the orders it was on."""

    redemptions: int = field("Times it took money off an order (a voucher's use included).")
    unique_customers: int = field("Customers who used it (guests without an account not counted).")
    discount_given: Money = field("Money it took off orders.")
    orders_influenced: int = field("Orders it was used on.")
    revenue_influenced: Money = field("What those orders cost, less refunds.")

    @classmethod
    def of(cls, use: OfferUse | None, currency: str) -> OfferPerformance:
        """The GraphQL object of an offer's uses (none: all zero)."""
        use = use or OfferUse(0, 0, 0, 0)
        return cls(
            redemptions=use.uses,
            unique_customers=use.customers,
            discount_given=money(use.discount_minor, currency),
            orders_influenced=use.orders,
            revenue_influenced=money(use.value_minor, currency),
        )
