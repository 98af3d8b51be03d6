"""Error codes shared by every area, and the domain exceptions that carry them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ErrorCode(Enum):
    """Why a mutation did not do what was asked; stable names clients can switch on."""

    INVALID_VALUE = "INVALID_VALUE"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    DUPLICATE = "DUPLICATE"
    PROGRAM_DISABLED = "PROGRAM_DISABLED"
    NOT_ENROLLED = "NOT_ENROLLED"
    ALREADY_ENROLLED = "ALREADY_ENROLLED"
    CONCURRENT_UPDATE = "CONCURRENT_UPDATE"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    BALANCE_LIMIT_REACHED = "BALANCE_LIMIT_REACHED"
    ACTIVITY_NOT_CONFIGURED = "ACTIVITY_NOT_CONFIGURED"
    ACTIVITY_ALREADY_REWARDED = "ACTIVITY_ALREADY_REWARDED"
    DAILY_CAP_REACHED = "DAILY_CAP_REACHED"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    NOT_PENDING = "NOT_PENDING"
    SELF_REFERRAL = "SELF_REFERRAL"
    INVALID_STATE = "INVALID_STATE"
    OFFER_NOT_AVAILABLE = "OFFER_NOT_AVAILABLE"
    OFFER_NOT_STARTED = "OFFER_NOT_STARTED"
    OFFER_EXPIRED = "OFFER_EXPIRED"
    NOT_FOR_SALE = "NOT_FOR_SALE"
    NOT_IN_GROUP = "NOT_IN_GROUP"
    NOT_IN_TIER = "NOT_IN_TIER"
    BADGE_REQUIRED = "BADGE_REQUIRED"  # the offer is for holders of a badge (gamification)
    USAGE_LIMIT_REACHED = "USAGE_LIMIT_REACHED"
    CUSTOMER_LIMIT_REACHED = "CUSTOMER_LIMIT_REACHED"
    EXCHANGE_NOT_ALLOWED = "EXCHANGE_NOT_ALLOWED"
    ORDER_ALREADY_RECORDED = "ORDER_ALREADY_RECORDED"
    REFUND_ALREADY_RECORDED = "REFUND_ALREADY_RECORDED"
    QUOTE_CHANGED = "QUOTE_CHANGED"
    REFERRAL_CODE_NOT_FOUND = "REFERRAL_CODE_NOT_FOUND"
    ALREADY_REFERRED = "ALREADY_REFERRED"
    REFERRAL_NOT_NEW_CUSTOMER = "REFERRAL_NOT_NEW_CUSTOMER"
    REFERRAL_CAP_REACHED = "REFERRAL_CAP_REACHED"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with an input: where, which code, and a message for people."""

    field: tuple[str, ...]
    code: ErrorCode
    message: str


@dataclass(slots=True)
class DomainError(Exception):
    """An expected failure of a command; the API turns it into userErrors."""

    problems: list[FieldProblem] = field(default_factory=list)

    @classmethod
    def single(cls, code: ErrorCode, message: str, *path: str) -> DomainError:
        """A failure with one problem."""
        return cls([FieldProblem(tuple(path), code, message)])

    def __str__(self) -> str:
        return "; ".join(p.message for p in self.problems)
