"""The checkout calculator: (basket, shopper, candidate offers, settings, now) -> quote.

Pure: no I/O, no clock of its own. The checkout query and order recording both
call `price_basket`, so what a storefront shows and what the shop records
cannot disagree. All money is integer minor units of the site's currency.

Combination rules, in order:

1. Every candidate is checked on its own (dates, groups, tiers, limits,
   minimum order value against the basket's subtotal); a refused candidate
   gets a reason and takes no further part.
2. The eligible ones are walked in a total order: priority (high first), then
   kind, offer id and key, so shuffling offers or lines changes nothing.
3. Offers that share a stacking group are decided together, where the group's
   highest-priority member stands, by the group's mode: STACK (all of them),
   BEST_FOR_CUSTOMER (the one that takes most off) or FIRST_BY_PRIORITY (the
   first that takes anything off). The group's price base says whether its
   offers are computed on the original prices or on what earlier offers left.
   An offer without a group stacks on what is left.
4. An exclusive offer stands alone: it applies only if nothing applied before
   it, and then nothing after it applies.
5. Best for the customer with an exclusive offer: an exclusive offer whose
   stacking group's rule is BEST_FOR_CUSTOMER does not stand in the order of
   rule 4; it competes. The basket is priced once with all the other eligible
   offers by rules 2-4 ("the others"), and once with each such exclusive offer
   alone; the lowest total wins (ties: the others, then the first exclusive
   offer in the order of rule 2). The losers are NOT_COMBINABLE with a message
   naming the winner. Such an exclusive offer's group name has no other effect;
   in a group of another mode (or without a rule) it follows rule 4.
6. No line goes below zero; an offer counts as used only if it took off more
   than zero.

Points: (amount paid on lines that earn points) x earn rate x tier multiplier,
rounded per the settings, plus each applied offer's reward points.
"""

from __future__ import annotations

from loyalty_gql.domain.checkout.basket import BasketState, spread
from loyalty_gql.domain.checkout.calculator import NOTHING_LEFT, STANDS_ALONE, price_basket
from loyalty_gql.domain.checkout.checks import category_prefixes, check_basket
from loyalty_gql.domain.checkout.eligibility import minor_units, refusal_of, waiting_card
from loyalty_gql.domain.checkout.index import LiveOffer, OfferIndex
from loyalty_gql.domain.checkout.payments import (
    order_points,
    pay_with_points,
    punch_progress,
    voucher_terms,
)
from loyalty_gql.domain.checkout.types import (
    DEFAULT_GROUP_RULE,
    MAX_CODES,
    MAX_LINES,
    MAX_QUANTITY,
    MAX_UNIT_PRICE_MINOR,
    ORIGIN_RANK,
    POINTS_KEY,
    AppliedOffer,
    BasketLine,
    Candidate,
    CheckoutRules,
    LineDiscount,
    LineQuote,
    Origin,
    PointsPayment,
    PriceBase,
    PunchProgress,
    Quote,
    Reason,
    Refusal,
    RejectedOffer,
    Shopper,
    StackingGroup,
    StackingMode,
)

__all__ = [
    "DEFAULT_GROUP_RULE",
    "MAX_CODES",
    "MAX_LINES",
    "MAX_QUANTITY",
    "MAX_UNIT_PRICE_MINOR",
    "NOTHING_LEFT",
    "ORIGIN_RANK",
    "POINTS_KEY",
    "STANDS_ALONE",
    "AppliedOffer",
    "BasketLine",
    "BasketState",
    "Candidate",
    "CheckoutRules",
    "LineDiscount",
    "LineQuote",
    "LiveOffer",
    "OfferIndex",
    "Origin",
    "PointsPayment",
    "PriceBase",
    "PunchProgress",
    "Quote",
    "Reason",
    "Refusal",
    "RejectedOffer",
    "Shopper",
    "StackingGroup",
    "StackingMode",
    "category_prefixes",
    "check_basket",
    "minor_units",
    "order_points",
    "pay_with_points",
    "price_basket",
    "punch_progress",
    "refusal_of",
    "spread",
    "voucher_terms",
    "waiting_card",
]
