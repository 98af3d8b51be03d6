"""The Money type: an exact decimal amount and its currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from loyalty_gql.api.core.permissions import PUBLIC
from loyalty_gql.domain.values import Money as DomainMoney


@strawberry.type(description="An exact amount of money in one currency.")
class Money:
    """A decimal amount (serialised as a string) with its ISO 4217 currency code."""

    amount: Decimal = strawberry.field(
        description="The amount, with exactly the currency's decimal places.", metadata=PUBLIC
    )
    currency_code: str = strawberry.field(
        description="ISO 4217 currency code, for example EUR.", metadata=PUBLIC
    )

    @classmethod
    def of(cls, value: DomainMoney) -> Money:
        """The GraphQL value of a domain amount."""
        return cls(amount=value.amount, currency_code=value.currency)

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str) -> Money:
        """An amount normalised to the currency's decimal places."""
        return cls.of(DomainMoney.from_decimal(amount, currency))
