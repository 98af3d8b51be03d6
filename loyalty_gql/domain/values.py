"""Money, currencies, points and the rounding rules between them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies


@lru_cache(maxsize=512)
def is_known_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency code."""
    return len(code) == 3 and code.isupper() and code in list_currencies()


@lru_cache(maxsize=512)
def is_known_locale(code: str) -> bool:
    """Whether ``code`` names a locale babel can format for (en, de_DE, pt-BR...)."""
    if not 0 < len(code) <= 35:
        return False
    try:
        Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


@lru_cache(maxsize=512)
def currency_exponent(code: str) -> int:
    """Digits after the decimal point of the currency's minor unit (EUR 2, JPY 0)."""
    return int(get_currency_precision(code))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, kept as integer minor units."""

    minor_units: int
    currency: str

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str) -> Money:
        """Convert a decimal amount; more digits than the currency has is an error."""
        exponent = currency_exponent(currency)
        scaled = amount.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            msg = f"{amount} has more than {exponent} decimal places for {currency}"
            raise ValueError(msg)
        return cls(int(scaled), currency)

    @property
    def amount(self) -> Decimal:
        """The amount as a decimal with exactly the currency's number of places."""
        exponent = currency_exponent(self.currency)
        return Decimal(self.minor_units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


class PointsRounding(Enum):
    """How fractional points from an earn rate become whole points."""

    DOWN = "DOWN"
    UP = "UP"
    HALF_UP = "HALF_UP"

    def apply(self, value: Decimal) -> int:
        """Round ``value`` to whole points by this rule."""
        mode = {"DOWN": ROUND_FLOOR, "UP": ROUND_CEILING, "HALF_UP": ROUND_HALF_UP}[self.value]
        return int(value.to_integral_value(rounding=mode))
