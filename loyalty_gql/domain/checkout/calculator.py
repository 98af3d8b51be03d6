"""The calculator: (basket, shopper, candidate offers, rules, now) -> quote; the
combination rules are in the package's docstring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter

from loyalty_gql.domain.checkout.basket import BasketState, spread
from loyalty_gql.domain.checkout.eligibility import checkout_refusal, waiting_card
from loyalty_gql.domain.checkout.payments import order_points, pay_with_points, punch_progress
from loyalty_gql.domain.checkout.types import (
    DEFAULT_GROUP_RULE,
    AppliedOffer,
    BasketLine,
    Candidate,
    CheckoutRules,
    Origin,
    PriceBase,
    Quote,
    Reason,
    Refusal,
    RejectedOffer,
    Shopper,
    StackingGroup,
    StackingMode,
)
from loyalty_gql.domain.eligibility import offer_refusal
from loyalty_gql.domain.offers import OfferKind, OfferTerms, OfferValueType
from loyalty_gql.domain.values import currency_exponent


def price_basket(
    lines: Sequence[BasketLine],
    shopper: Shopper | None,
    candidates: Iterable[Candidate],
    rules: CheckoutRules,
    now: datetime,
    *,
    pay_points: int = 0,
) -> Quote:
    """The quote for ``lines``: see the module's docstring for the rules."""
    state = BasketState(lines, currency_exponent(rules.settings.currency))
    subtotal = state.subtotal
    candidates = list(candidates)
    by_rank = attrgetter("rank")
    coupons = [c.offer_id for c in candidates if c.origin in CHOSEN_COUPONS]
    keys = {c.key for c in candidates}
    if len(keys) == len(candidates) and len(set(coupons)) == len(coupons):
        ordered = sorted(candidates, key=by_rank)
    else:
        # usable candidates first, so a used code never hides a good one for one coupon
        first_usable = sorted(candidates, key=lambda c: (c.refusal is not None, c.rank))
        ordered = sorted(_unique(first_usable, state), key=by_rank)
    rejected: list[RejectedOffer] = list(state.duplicates)
    eligible: list[Candidate] = []
    exponent = state.exponent
    for candidate in ordered:
        # the domain's one rule list (as checkout.eligibility.refusal_of, without its call)
        refusal = candidate.refusal
        if refusal is None:
            rule = offer_refusal(candidate, shopper, now, subtotal, exponent)
            if rule is not None:
                refusal = checkout_refusal(rule, candidate.terms)
        if refusal is None:
            eligible.append(candidate)
        else:
            rejected.append(RejectedOffer(candidate, refusal))
    # an exclusive offer asking for the best price is rare: looked for only among exclusive ones
    if any(_competes(c, rules) for c in eligible if c.terms.exclusive):
        state, applied, punch_rewards = _best_for_customer(lines, state, eligible, rules, rejected)
    else:
        applied, punch_rewards = _combine(state, eligible, rules, rejected)
    payment = pay_with_points(state, shopper, rules, pay_points)
    eligible_keys = {c.key for c in eligible}
    punchcards = tuple(
        punch_progress(c, state, punch_rewards.get(c.key), c.key in eligible_keys)
        for c in ordered
        if c.origin is Origin.PUNCHCARD
    )
    quoted = tuple(state.quote_line(line) for line in lines)
    points_base = sum(q.final for q in quoted if q.earns_points)
    earns = shopper is not None and shopper.earns_points
    base_points = (
        order_points(points_base, state.exponent, rules.settings, shopper.earn_multiplier)
        if earns and shopper is not None
        else 0
    )
    reward_points = sum(a.reward_points for a in applied) if earns else 0
    return Quote(
        currency=rules.settings.currency,
        lines=quoted,
        applied=tuple(applied),
        rejected=tuple(sorted(rejected, key=lambda r: r.candidate.rank)),
        punchcards=punchcards,
        points_payment=payment,
        points_base=points_base,
        base_points=base_points,
        reward_points=reward_points,
    )


def _combine(  # noqa: PLR0912 - the hot path is inlined on purpose
    state: BasketState,
    eligible: list[Candidate],
    rules: CheckoutRules,
    rejected: list[RejectedOffer],
) -> tuple[list[AppliedOffer], dict[str, tuple[str, int]]]:
    """Apply the eligible candidates in order, by the stacking and exclusivity rules;
    refusals are added to ``rejected``. Returns the applied offers and, per full
    punchcard that gave its reward, the line and amount."""
    applied: list[AppliedOffer] = []
    punch_rewards: dict[str, tuple[str, int]] = {}
    exclusive_won = False
    grouped: dict[str, list[Candidate]] = {}
    for candidate in eligible:
        if candidate.terms.stacking_group is not None and not candidate.terms.exclusive:
            grouped.setdefault(candidate.terms.stacking_group, []).append(candidate)
    done: set[str] = set()
    for candidate in eligible:
        if candidate.key in done:
            continue
        terms = candidate.terms
        group_name = None if terms.exclusive else terms.stacking_group
        blocked = exclusive_won or (terms.exclusive and bool(applied))
        if group_name is None:
            # a lone offer: the hot path when thousands touch the basket
            if blocked or _nothing_left(state, candidate, None):
                if candidate.origin is not Origin.PUNCHCARD or not waiting_card(candidate):
                    rejected.append(
                        RejectedOffer(candidate, STANDS_ALONE if blocked else NOTHING_LEFT)
                    )
                continue
            members = [candidate]
        else:
            members = grouped[group_name]
            done.update(m.key for m in members)
            if blocked or _nothing_left(state, candidate, group_name):
                refusal = STANDS_ALONE if blocked else NOTHING_LEFT
                rejected += [RejectedOffer(m, refusal) for m in members if not waiting_card(m)]
                continue
        rule = DEFAULT_GROUP_RULE if group_name is None else rules.groups.get(group_name)
        rule = rule or replace(DEFAULT_GROUP_RULE, name=group_name or "")
        for member, cut in _decide(state, members, rule):
            if waiting_card(member):
                continue  # a card that is not full yet only collects its punch
            if cut is None:
                why = f"{rule.mode.value} in stacking group {rule.name} chose another offer"
                rejected.append(RejectedOffer(member, Refusal(Reason.NOT_COMBINABLE, why)))
                continue
            total = sum(cut.values())
            if total <= 0:
                rejected.append(RejectedOffer(member, NOTHING_LEFT))
                continue
            state.take(member, cut)
            applied.append(AppliedOffer(member, total, member.terms.reward_points))
            if member.origin is Origin.PUNCHCARD:
                punch_rewards[member.key] = (next(iter(cut)), total)
            exclusive_won = exclusive_won or member.terms.exclusive
    return applied, punch_rewards


def _competes(candidate: Candidate, rules: CheckoutRules) -> bool:
    """An exclusive offer whose stacking group asks for the best price for the customer:
    it competes alone against the others instead of standing in the order."""
    terms = candidate.terms
    if not terms.exclusive or terms.stacking_group is None:
        return False
    rule = rules.groups.get(terms.stacking_group)
    return rule is not None and rule.mode is StackingMode.BEST_FOR_CUSTOMER


def _best_for_customer(
    lines: Sequence[BasketLine],
    state: BasketState,
    eligible: list[Candidate],
    rules: CheckoutRules,
    rejected: list[RejectedOffer],
) -> tuple[BasketState, list[AppliedOffer], dict[str, tuple[str, int]]]:
    """Price the basket once with the others (every eligible candidate that does not
    compete) by the usual rules, and once with each competing exclusive offer alone;
    the lowest total wins, ties going to the others' combination and then to the first
    exclusive offer in the order. The losers are NOT_COMBINABLE, their message naming
    the winner. Returns the winner's basket, applied offers and punch rewards."""
    competing = [c for c in eligible if _competes(c, rules)]
    others = [c for c in eligible if not _competes(c, rules)]
    trials: list[_Trial] = []
    for alone in (None, *competing):
        trial_state = BasketState(lines, state.exponent)
        trial_rejected: list[RejectedOffer] = []
        members = others if alone is None else [alone]
        applied, rewards = _combine(trial_state, members, rules, trial_rejected)
        trials.append(_Trial(alone, trial_state, applied, rewards, trial_rejected))
    best = min(trials, key=lambda t: t.state.total_left)  # the first of equals
    currency = rules.settings.currency

    def money(amount: int) -> str:
        return f"{Decimal(amount).scaleb(-state.exponent)} {currency}"

    if best.alone is None:
        rejected += best.rejected
        names = " + ".join(f'"{a.candidate.terms.name}"' for a in best.applied)
        verb = "together cost" if len(best.applied) > 1 else "costs"
        winner = f"{names} {verb} {money(best.state.total_left)}"
    else:
        winner = f'exclusive "{best.alone.terms.name}" alone costs {money(best.state.total_left)}'
        others_cost = money(trials[0].state.total_left)
        why = Refusal(
            Reason.NOT_COMBINABLE, f"best for the customer: {winner}, the others {others_cost}"
        )
        rejected += [RejectedOffer(c, why) for c in others if not waiting_card(c)]
    for trial in trials[1:]:
        if trial is best or trial.alone is None:
            continue
        if not trial.applied:  # it takes nothing off even alone: its own reason
            rejected += trial.rejected
            continue
        text = f"best for the customer: {winner}, this offer alone {money(trial.state.total_left)}"
        rejected.append(RejectedOffer(trial.alone, Refusal(Reason.NOT_COMBINABLE, text)))
    return best.state, best.applied, best.rewards


@dataclass(slots=True)
class _Trial:
    """One way of pricing the basket: the others together (alone is None) or one
    competing exclusive offer alone."""

    alone: Candidate | None
    state: BasketState
    applied: list[AppliedOffer]
    rewards: dict[str, tuple[str, int]]
    rejected: list[RejectedOffer]


def _nothing_left(state: BasketState, candidate: Candidate, group_name: str | None) -> bool:
    """Whether nothing is left for the candidate (or its group) to take off: the basket
    is paid in full, or (the common case with many offers) a lone offer's lines are."""
    if state.total_left == 0:
        return True
    if group_name is not None or candidate.terms.exclusive:
        return False
    return not any(state.left[line.line_id] for line in state.in_scope(candidate))


def _unique(candidates: Iterable[Candidate], state: BasketState) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    coupons: set[int] = set()
    for candidate in candidates:
        same_coupon = candidate.origin in CHOSEN_COUPONS and candidate.offer_id in coupons
        if candidate.key in seen or same_coupon:
            state.duplicates.append(
                RejectedOffer(candidate, Refusal(Reason.DUPLICATE, "given more than once"))
            )
            continue
        seen[candidate.key] = candidate
        if candidate.origin in CHOSEN_COUPONS and candidate.offer_id is not None:
            coupons.add(candidate.offer_id)
    return list(seen.values())


# a coupon entered by code and the same coupon chosen as assigned are one coupon
CHOSEN_COUPONS = (Origin.COUPON_CODE, Origin.ASSIGNED)
NOTHING_LEFT = Refusal(Reason.NO_MATCHING_ITEMS, "nothing in the basket is left for this offer")
STANDS_ALONE = Refusal(Reason.NOT_COMBINABLE, "an exclusive offer stands alone")


def _decide(
    state: BasketState, members: list[Candidate], rule: StackingGroup
) -> list[tuple[Candidate, dict[str, int] | None]]:
    """Each member's cut per line (None: the group's mode passed it over)."""
    if rule.mode is StackingMode.STACK or len(members) == 1:
        # offers are computed one after another, each on what the group's base says
        results: list[tuple[Candidate, dict[str, int] | None]] = []
        shadow = dict(state.left)
        for member in members:
            cut = _cut(state, member, rule.price_base, shadow)
            for line_id, amount in cut.items():
                shadow[line_id] -= amount
            results.append((member, cut))
        return results
    if rule.mode is StackingMode.FIRST_BY_PRIORITY:
        # the first member that takes anything off wins; the rest are not even computed
        decided: list[tuple[Candidate, dict[str, int] | None]] = []
        won = False
        for member in members:
            first = None if won else _cut(state, member, rule.price_base, state.left)
            won = won or bool(first)
            decided.append((member, first))
        return decided
    cuts = [(member, _cut(state, member, rule.price_base, state.left)) for member in members]
    best_total = max(sum(cut.values()) for _, cut in cuts)
    winner = next(m for m, cut in cuts if sum(cut.values()) == best_total)
    return [
        (member, cut if member is winner or sum(cut.values()) == 0 else None)
        for member, cut in cuts
    ]


def _cut(
    state: BasketState, candidate: Candidate, base: PriceBase, left: Mapping[str, int]
) -> dict[str, int]:
    """What ``candidate`` takes off each line, never more than ``left`` of it."""
    terms = candidate.terms
    lines = [line for line in state.in_scope(candidate) if left[line.line_id] > 0]
    if not lines:
        return {}
    if candidate.origin is Origin.PUNCHCARD:
        required = terms.punches_required or 0
        if candidate.punches < required:
            return {}
        return _one_item(terms, lines, left, state.exponent)
    if terms.value_type is OfferValueType.FREE_ITEM:
        return _one_item(terms, lines, left, state.exponent)
    weights = {
        line.line_id: (line.amount if base is PriceBase.ORIGINAL else left[line.line_id])
        for line in lines
    }
    if terms.value_type is OfferValueType.PERCENT:
        percent = terms.value or Decimal(0)
        wanted = int(
            (Decimal(sum(weights.values())) * percent / 100).to_integral_value(ROUND_HALF_UP)
        )
    else:
        wanted = int((terms.value or Decimal(0)).scaleb(state.exponent))
    wanted = min(wanted, sum(left[line.line_id] for line in lines))
    return spread(wanted, weights, {line.line_id: left[line.line_id] for line in lines})


def _one_item(
    terms: OfferTerms, lines: list[BasketLine], left: Mapping[str, int], exponent: int
) -> dict[str, int]:
    """The discount on one unit of the cheapest line in scope (free, or value off)."""
    line = min(lines, key=lambda item: (item.unit_price, item.line_id))
    unit = min(line.unit_price, left[line.line_id])
    if terms.value_type is OfferValueType.PERCENT and terms.kind is OfferKind.PUNCHCARD:
        unit = int((Decimal(unit) * (terms.value or 0) / 100).to_integral_value(ROUND_HALF_UP))
    elif terms.value_type is OfferValueType.FIXED_AMOUNT:
        unit = min(unit, int((terms.value or Decimal(0)).scaleb(exponent)))
    return {line.line_id: unit} if unit > 0 else {}
