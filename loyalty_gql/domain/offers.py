"""Offers: the five kinds a shop runs, their terms, and the rules that keep terms coherent.

Later areas build on these terms: redemption (buying an offer with points), My
offers, and the checkout calculator, which reads value, scope, validity,
limits, groups, tiers and the combination settings. Who may buy or use an offer
is `loyalty_gql.domain.eligibility`, the one list of those rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import currency_exponent

MAX_TARGETS = 500
MAX_POINTS = 10_000_000
TARGET = re.compile(r"^[^\s/][^/]{0,99}(/[^\s/][^/]{0,99}){0,9}$")
GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
BADGE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # gamification's badge codes
STACKING_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OfferKind(Enum):
    """The five kinds of offer."""

    REWARD = "REWARD"
    COUPON = "COUPON"
    PUNCHCARD = "PUNCHCARD"
    PROMOTION = "PROMOTION"
    CLUBCARD = "CLUBCARD"


class OfferStatus(Enum):
    """Where an offer is in its life."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    UNPUBLISHED = "UNPUBLISHED"
    DELETED = "DELETED"


class OfferValueType(Enum):
    """What an offer takes off."""

    PERCENT = "PERCENT"
    FIXED_AMOUNT = "FIXED_AMOUNT"
    FREE_ITEM = "FREE_ITEM"


class OfferScope(Enum):
    """Which part of a basket an offer applies to."""

    ORDER = "ORDER"
    CATEGORY = "CATEGORY"
    SUBCATEGORY = "SUBCATEGORY"
    PRODUCT = "PRODUCT"


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """Everything an admin sets on an offer (counters and status live elsewhere)."""

    kind: OfferKind
    name: str
    value_type: OfferValueType
    value: Decimal | None = None
    scope: OfferScope = OfferScope.ORDER
    targets: tuple[str, ...] = ()
    description: str | None = None
    image_url: str | None = None
    loyalty_price: int | None = None
    reward_points: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None
    max_uses_per_customer: int | None = None
    minimum_order_value: Decimal = Decimal(0)
    customer_groups: tuple[str, ...] = ()
    tier_ids: tuple[int, ...] = ()
    badge_codes: tuple[str, ...] = ()  # only for holders of one of these badges
    priority: int = 0
    exclusive: bool = False
    stacking_group: str | None = None
    punches_required: int | None = None
    punch_minimum_quantity: int = 1
    membership_fee_points: int | None = None
    coupon_code: str | None = None
    exchange_product_id: str | None = None
    exchange_price: Decimal | None = None

    def check(self, currency: str) -> None:
        """Raise a DomainError listing every incoherent term."""
        problems = [
            *self._text_problems(),
            *self._value_problems(currency),
            *self._scope_problems(),
            *self._limit_problems(currency),
            *self._kind_problems(currency),
        ]
        if problems:
            raise DomainError(problems)

    def _text_problems(self) -> list[FieldProblem]:
        problems = []
        if not self.name.strip() or len(self.name) > 200:
            problems.append(_invalid("name", "must be 1-200 characters"))
        if self.description is not None and len(self.description) > 5000:
            problems.append(_invalid("description", "must be at most 5000 characters"))
        if self.image_url is not None and (
            len(self.image_url) > 2000 or not self.image_url.startswith(("https://", "http://"))
        ):
            problems.append(
                _invalid("image_url", "must be an http(s) URL of at most 2000 characters")
            )
        return problems

    def _value_problems(self, currency: str) -> list[FieldProblem]:
        value = self.value
        if self.value_type is OfferValueType.FREE_ITEM:
            return [] if value is None else [_invalid("value", "a free item has no value")]
        if value is None:
            return [FieldProblem(("value",), ErrorCode.REQUIRED, "give the discount's value")]
        if not value.is_finite() or value <= 0:
            return [_invalid("value", "must be a number above 0")]
        if self.value_type is OfferValueType.PERCENT and value > 100:
            return [_invalid("value", "a percentage is at most 100")]
        if self.value_type is OfferValueType.FIXED_AMOUNT:
            return _money_problems("value", value, currency)
        return []

    def _scope_problems(self) -> list[FieldProblem]:
        if self.scope is OfferScope.ORDER:
            return (
                [_invalid("targets", "an order-wide offer has no targets")] if self.targets else []
            )
        if not self.targets:
            return [
                FieldProblem(("targets",), ErrorCode.REQUIRED, "name what the offer applies to")
            ]
        if len(self.targets) > MAX_TARGETS or len(set(self.targets)) != len(self.targets):
            return [_invalid("targets", f"at most {MAX_TARGETS} distinct targets")]
        nested = self.scope is not OfferScope.PRODUCT
        bad = [t for t in self.targets if not (TARGET.match(t) if nested else 0 < len(t) <= 100)]
        if bad:
            what = "category paths like shoes/running" if nested else "product ids of 1-100 chars"
            return [_invalid("targets", f"{bad[:3]} are not {what}")]
        return []

    def _limit_problems(self, currency: str) -> list[FieldProblem]:
        problems = []
        for name, number in (
            ("loyalty_price", self.loyalty_price),
            ("max_uses", self.max_uses),
            ("max_uses_per_customer", self.max_uses_per_customer),
        ):
            if number is not None and not 1 <= number <= MAX_POINTS:
                problems.append(_invalid(name, f"must be 1 to {MAX_POINTS}, or null"))
        if not 0 <= self.reward_points <= MAX_POINTS:
            problems.append(_invalid("reward_points", f"must be 0 to {MAX_POINTS}"))
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            problems.append(_invalid("valid_until", "must be after validFrom"))
        if not self.minimum_order_value.is_finite() or self.minimum_order_value < 0:
            problems.append(_invalid("minimum_order_value", "must be 0 or more"))
        else:
            problems += _money_problems(
                "minimum_order_value", self.minimum_order_value, currency, zero_ok=True
            )
        if any(not GROUP.match(g) for g in self.customer_groups):
            problems.append(_invalid("customer_groups", "group names use letters, digits, _ . : -"))
        if len(self.badge_codes) > 100 or any(not BADGE_CODE.match(c) for c in self.badge_codes):
            problems.append(_invalid("badge_codes", "at most 100 badge codes"))
        if not -1000 <= self.priority <= 1000:
            problems.append(_invalid("priority", "must be -1000 to 1000"))
        if self.stacking_group is not None and not STACKING_GROUP.match(self.stacking_group):
            problems.append(_invalid("stacking_group", "use letters, digits, _ . - (1-64)"))
        return problems

    def _kind_problems(self, currency: str) -> list[FieldProblem]:
        kind = self.kind
        problems = []
        if kind is OfferKind.REWARD and self.loyalty_price is None:
            problems.append(
                FieldProblem(
                    ("loyalty_price",), ErrorCode.REQUIRED, "a reward has a price in points"
                )
            )
        if kind in (OfferKind.PROMOTION, OfferKind.PUNCHCARD, OfferKind.CLUBCARD) and (
            self.loyalty_price is not None
        ):
            problems.append(_invalid("loyalty_price", f"a {kind.value.lower()} is not bought"))
        if kind is OfferKind.PUNCHCARD:
            if self.punches_required is None or not 2 <= self.punches_required <= 100:
                problems.append(_invalid("punches_required", "a punchcard needs 2 to 100 punches"))
            if not 1 <= self.punch_minimum_quantity <= 1000:
                problems.append(_invalid("punch_minimum_quantity", "must be 1 to 1000"))
        elif self.punches_required is not None:
            problems.append(_invalid("punches_required", "only punchcards have punches"))
        if self.membership_fee_points is not None and (
            kind is not OfferKind.CLUBCARD or not 1 <= self.membership_fee_points <= MAX_POINTS
        ):
            problems.append(_invalid("membership_fee_points", "clubcards only, 1 or more points"))
        if self.coupon_code is not None and (
            kind is not OfferKind.COUPON or not COUPON_CODE.match(self.coupon_code)
        ):
            problems.append(
                _invalid("coupon_code", "coupons only: 3-40 characters of A-Z, 0-9, - and _")
            )
        problems += self._exchange_problems(currency)
        return problems

    def _exchange_problems(self, currency: str) -> list[FieldProblem]:
        if self.exchange_product_id is None:
            if self.exchange_price is not None:
                return [_invalid("exchange_price", "only a product exchange has a price")]
            return []
        if self.kind is not OfferKind.REWARD:
            return [_invalid("exchange_product_id", "only rewards exchange points for products")]
        if not 0 < len(self.exchange_product_id) <= 100:
            return [_invalid("exchange_product_id", "must be 1-100 characters")]
        price = self.exchange_price if self.exchange_price is not None else Decimal(0)
        if not price.is_finite() or price < 0:
            return [_invalid("exchange_price", "zero or a token amount")]
        return _money_problems("exchange_price", price, currency, zero_ok=True)


COUPON_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")

# Which status changes an admin may make.
TRANSITIONS = {
    "publish": {OfferStatus.DRAFT, OfferStatus.UNPUBLISHED},
    "unpublish": {OfferStatus.PUBLISHED},
    "delete": {OfferStatus.DRAFT, OfferStatus.PUBLISHED, OfferStatus.UNPUBLISHED},
}


def check_transition(action: str, status: OfferStatus) -> None:
    """Refuse a status change that makes no sense (publishing a deleted offer...)."""
    if status not in TRANSITIONS[action]:
        raise DomainError.single(
            ErrorCode.INVALID_STATE, f"a {status.value} offer cannot be {action}ed", "offer_id"
        )


def _money_problems(
    field_name: str, value: Decimal, currency: str, *, zero_ok: bool = False
) -> list[FieldProblem]:
    if value == 0 and zero_ok:
        return []
    places = currency_exponent(currency)
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        return [_invalid(field_name, f"{currency} amounts have {places} decimal places")]
    return []


def _invalid(field_name: str, message: str) -> FieldProblem:
    return FieldProblem((field_name,), ErrorCode.INVALID_VALUE, message)


BUYABLE = frozenset({OfferKind.REWARD, OfferKind.COUPON})


def price_in_points(terms: OfferTerms) -> int | None:
    """What the offer costs in points: a reward's or coupon's loyalty price, or a
    clubcard's membership fee; None when it is not sold for points."""
    if terms.kind in BUYABLE:
        return terms.loyalty_price
    if terms.kind is OfferKind.CLUBCARD:
        return terms.membership_fee_points
    return None


class ExchangeStatus(StrEnum):
    """A product exchange: PENDING until an admin confirms the hand-over, then CONFIRMED."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
