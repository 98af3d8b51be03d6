"""checkout: the price of a basket for guests, customers and the shop backend; writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    LedgerEntryRow,
    OfferCustomerUseRow,
    OfferRow,
    OrderRow,
    OutboxEventRow,
    VoucherRow,
)
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.operations import GRANT_POINTS
from tests.support.shop import Shop, create_site, line, register

UPDATE = """
mutation($input: UpdateOfferInput!) {
  updateOffer(input: $input) { offer { id } userErrors { field code message } }
}
"""
RECORD = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { order { orderId status } userErrors { field code message } }
}
"""
STACKING = """
mutation($input: SetStackingGroupInput!) {
  setStackingGroup(input: $input) {
    stackingGroup { name mode priceBase } userErrors { field code message }
  }
}
"""
VOUCHER_REWARD: dict[str, Any] = {
    "name": "5 off", "valueType": "FIXED_AMOUNT", "value": "5", "loyaltyPrice": 100,
}  # fmt: skip


async def _shop(gql: GraphQLClient) -> Shop:
    """shop-a with its program on and two enrolled customers, ann and bob."""
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    return shop


async def _voucher(shop: Shop, external_id: str) -> str:
    """A 5.00 voucher the customer buys with 100 points (granted first)."""
    await shop.grant(external_id, 100)
    return await shop.voucher(external_id, await shop.offer("REWARD", **VOUCHER_REWARD))


def _applied(quote: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(a["name"], a["code"], a["amount"]["amount"]) for a in quote["appliedOffers"]]


def _rejected(quote: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(r["name"], r["code"], r["reason"]) for r in quote["rejectedOffers"]]


def _totals(quote: dict[str, Any]) -> tuple[str, str, str, int]:
    return (
        quote["subtotal"]["amount"],
        quote["discount"]["amount"],
        quote["total"]["amount"],
        quote["points"],
    )


async def _count(db: Database, table: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


# -- who prices -----------------------------------------------------------------------------


async def test_a_guest_gets_promotions_and_codes_but_no_points(gql: GraphQLClient) -> None:
    # given: a 10% promotion and a 5.00 coupon with a shared code
    shop = await _shop(gql)
    promo = await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    coupon = await shop.offer(
        "COUPON", name="Five", valueType="FIXED_AMOUNT", value="5", couponCode="FIVE"
    )
    # when: no token at all
    quote = await shop.quote(
        [line("p1", 2, "25.00", "shoes"), line("p2", 1, "50.00")], couponCodes=["five"]
    )
    # then: 100.00 - 10% = 90.00, - 5.00 = 85.00; a guest earns nothing
    assert _totals(quote) == ("100.00", "15.00", "85.00", 0)
    assert quote["subtotal"]["currencyCode"] == "EUR"
    assert quote["currencyCode"] == "EUR"
    assert [(a["offerId"], a["origin"], a["code"]) for a in quote["appliedOffers"]] == [
        (promo, "PROMOTION", None),
        (coupon, "COUPON_CODE", "FIVE"),
    ]
    assert _applied(quote) == [("Ten", None, "10.00"), ("Five", "FIVE", "5.00")]
    assert quote["rejectedOffers"] == []
    assert (quote["pointsBase"]["amount"], quote["basePoints"], quote["rewardPoints"]) == (
        "85.00", 0, 0,
    )  # fmt: skip
    assert [(q["lineId"], q["finalPrice"]["amount"]) for q in quote["lines"]] == [
        ("p1", "42.50"),
        ("p2", "42.50"),
    ]
    finals = [Decimal(q["finalPrice"]["amount"]) for q in quote["lines"]]
    assert sum(finals) == Decimal(quote["total"]["amount"])


async def test_a_customer_prices_their_own_basket_with_points(gql: GraphQLClient) -> None:
    # given: 10 points per 1.00 (the default), rounded down, and a promotion with reward points
    shop = await _shop(gql)
    await shop.offer(
        "PROMOTION", name="Shoes", valueType="PERCENT", value="10", scope="CATEGORY",
        targets=["shoes"], rewardPoints=25,
    )  # fmt: skip
    lines = [
        line("p1", 1, "40.05", "shoes/running"),
        line("gift", 1, "20.00", excludeFromPoints=True),
    ]
    # when
    quote = await shop.quote(lines, token=shop.customer("ann"))
    # then: 40.05 - 4.01 (half up) = 36.04 earns 360 points; the gift card earns none
    assert _totals(quote) == ("60.05", "4.01", "56.04", 385)
    assert (quote["pointsBase"]["amount"], quote["basePoints"], quote["rewardPoints"]) == (
        "36.04", 360, 25,
    )  # fmt: skip
    assert [q["earnsPoints"] for q in quote["lines"]] == [True, False]
    # when: the site earns 2.5 points per 1.00, rounded half up
    await shop.configure(earnRate="2.5", pointsRounding="HALF_UP")
    again = await shop.quote(lines, token=shop.customer("ann"))
    # then: 36.04 x 2.5 = 90.1 -> 90
    assert (again["basePoints"], again["points"]) == (90, 115)


async def test_a_service_token_prices_a_customers_basket(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    lines = [line("p1", 3, "9.99")]
    by_service = await shop.quote(lines, token=shop.service, customerId=shop.customers["ann"])
    by_customer = await shop.quote(lines, token=shop.customer("ann"))
    by_admin = await shop.quote(lines, token=shop.admin, customerId=shop.customers["ann"])
    assert by_service["points"] == 299
    assert by_service == by_customer == by_admin


async def test_a_customer_may_not_price_another_customers_basket(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    lines = [line("p1", 1, "10.00")]
    error = await shop.quote_error(
        lines, token=shop.customer("ann"), customerId=shop.customers["bob"]
    )
    guest = await shop.quote_error(lines, customerId=shop.customers["bob"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert guest["extensions"]["code"] == "FORBIDDEN"
    # their own id is fine
    own = await shop.quote(lines, token=shop.customer("ann"), customerId=shop.customers["ann"])
    assert own["points"] == 100


async def test_a_customer_of_another_site_is_not_found(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    other_site = await create_site(gql, "shop-b")
    stranger = await register(gql, "shop-b", other_site, "zed", enroll=True)
    error = await shop.quote_error(
        [line("p1", 1, "10.00")], token=shop.service, customerId=stranger["id"]
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert [(e["field"], e["code"]) for e in error["extensions"]["userErrors"]] == [
        (["input", "customerId"], "NOT_FOUND")
    ]


@pytest.mark.parametrize(
    ("lines", "field", "code"),
    [
        (
            [line("p1", 1, "1.00", lineId="a"), line("p2", 1, "2.00", lineId="a")],
            ["input", "lines", "1", "lineId"],
            "DUPLICATE",
        ),
        ([line("p1", 1, "1.00"), line("p1", 2, "1.00")], ["input", "lines", "1", "lineId"],
         "DUPLICATE"),
        ([line("p1", 1, "1.005")], ["input", "lines", "0", "unitPrice"], "INVALID_VALUE"),
        ([line("p1", 0, "1.00")], ["input", "lines", "0", "quantity"], "INVALID_VALUE"),
        ([], ["input", "lines"], "INVALID_VALUE"),
    ],
)  # fmt: skip
async def test_bad_input_is_a_top_level_error_with_user_errors(
    gql: GraphQLClient, lines: list[dict[str, Any]], field: list[str], code: str
) -> None:
    shop = await _shop(gql)
    error = await shop.quote_error(lines, token=shop.customer("ann"))
    assert error["extensions"]["code"] == code
    assert [(e["field"], e["code"]) for e in error["extensions"]["userErrors"]] == [(field, code)]
    assert all(e["message"] for e in error["extensions"]["userErrors"])


async def test_every_problem_of_a_basket_is_listed(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    lines = await shop.quote_error([line("p1", 0, "1.00"), line("p2", 1, "-1.00")])
    codes = await shop.quote_error(
        [line("p1", 1, "1.00")], couponCodes=[""], vouchers=["x" * 41], payWithPoints=-1
    )
    assert [(e["field"], e["code"]) for e in lines["extensions"]["userErrors"]] == [
        (["input", "lines", "0", "quantity"], "INVALID_VALUE"),
        (["input", "lines", "1", "unitPrice"], "INVALID_VALUE"),
    ]
    assert [(e["field"], e["code"]) for e in codes["extensions"]["userErrors"]] == [
        (["input", "couponCodes"], "INVALID_VALUE"),
        (["input", "vouchers"], "INVALID_VALUE"),
        (["input", "payWithPoints"], "INVALID_VALUE"),
    ]


# -- codes and vouchers ---------------------------------------------------------------------


async def test_an_unknown_coupon_code_is_rejected(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    quote = await shop.quote([line("p1", 1, "10.00")], couponCodes=[" nope "])
    assert _totals(quote) == ("10.00", "0.00", "10.00", 0)
    assert quote["appliedOffers"] == []
    [rejected] = quote["rejectedOffers"]
    assert rejected["offerId"] is None
    assert (rejected["origin"], rejected["code"], rejected["reason"]) == (
        "COUPON_CODE", "NOPE", "UNKNOWN_CODE",
    )  # fmt: skip
    assert rejected["message"]


async def test_another_customers_voucher_is_an_unknown_code(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    bobs = await _voucher(shop, "bob")
    quote = await shop.quote([line("p1", 1, "10.00")], token=shop.customer("ann"), vouchers=[bobs])
    as_guest = await shop.quote([line("p1", 1, "10.00")], vouchers=[bobs])
    as_bob = await shop.quote([line("p1", 1, "10.00")], token=shop.customer("bob"), vouchers=[bobs])
    assert _rejected(quote) == [(bobs, bobs, "UNKNOWN_CODE")]
    assert quote["rejectedOffers"][0]["offerId"] is None
    assert _rejected(as_guest) == [(bobs, bobs, "UNKNOWN_CODE")]
    assert _totals(quote) == ("10.00", "0.00", "10.00", 100)
    assert _applied(as_bob) == [("5 off", bobs, "5.00")]
    assert _totals(as_bob) == ("10.00", "5.00", "5.00", 50)


async def test_a_used_voucher_is_already_used(gql: GraphQLClient) -> None:
    # given: ann used her voucher in an order
    shop = await _shop(gql)
    code = await _voucher(shop, "ann")
    body = await gql.execute(
        RECORD,
        {"input": {"siteId": shop.site_id, "orderId": "o-1", "customerId": shop.customers["ann"],
                   "lines": [line("p1", 1, "10.00")], "vouchers": [code]}},
        token=shop.service,
    )  # fmt: skip
    assert body["data"]["recordOrder"]["userErrors"] == []
    # when
    quote = await shop.quote([line("p1", 1, "10.00")], token=shop.customer("ann"), vouchers=[code])
    # then
    assert quote["appliedOffers"] == []
    assert _rejected(quote) == [("5 off", code, "ALREADY_USED")]
    assert quote["rejectedOffers"][0]["origin"] == "VOUCHER"


async def test_a_used_single_use_code_is_already_used(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    coupon = await shop.offer("COUPON", name="Once", valueType="PERCENT", value="50")
    body = await gql.execute(
        "mutation($input: GenerateCouponCodesInput!) { generateCouponCodes(input: $input) "
        "{ codes } }",
        {"input": {"offerId": coupon, "count": 1}},
        token=shop.admin,
    )
    [code] = body["data"]["generateCouponCodes"]["codes"]
    before = await shop.quote([line("p1", 1, "10.00")], couponCodes=[code])
    body = await gql.execute(
        RECORD,
        {"input": {"siteId": shop.site_id, "orderId": "o-1", "lines": [line("p1", 1, "10.00")],
                   "couponCodes": [code]}},
        token=shop.service,
    )  # fmt: skip
    after = await shop.quote([line("p1", 1, "10.00")], couponCodes=[code])
    assert _applied(before) == [("Once", code, "5.00")]
    assert _rejected(after) == [("Once", code, "ALREADY_USED")]


# -- automatic offers -----------------------------------------------------------------------


async def test_an_assigned_punchcard_shows_its_progress(gql: GraphQLClient) -> None:
    # given: ann holds a coffee card of 3 punches, bob does not
    shop = await _shop(gql)
    card = await shop.offer(
        "PUNCHCARD", name="Coffee card", valueType="FREE_ITEM", punchesRequired=3,
        scope="CATEGORY", targets=["drinks/coffee"],
    )  # fmt: skip
    await shop.assign(card, "ann")
    coffee = [line("latte", 2, "3.50", "drinks/coffee/hot")]
    # when
    anns = await shop.quote(coffee, token=shop.customer("ann"))
    bobs = await shop.quote(coffee, token=shop.customer("bob"))
    tea = await shop.quote([line("tea", 1, "2.00", "drinks/tea")], token=shop.customer("ann"))
    # then
    assert anns["punchcards"] == [
        {"offerId": card, "name": "Coffee card", "punchesRequired": 3, "punchesBefore": 0,
         "punchesAfter": 1, "rewardLineId": None, "rewardAmount": None}
    ]  # fmt: skip
    assert anns["appliedOffers"] == []
    assert anns["rejectedOffers"] == []
    assert _totals(anns) == ("7.00", "0.00", "7.00", 70)
    assert bobs["punchcards"] == []
    assert tea["punchcards"] == []


async def test_a_full_punchcard_gives_its_free_item(gql: GraphQLClient) -> None:
    # given: ann's card fills with three orders
    shop = await _shop(gql)
    card = await shop.offer(
        "PUNCHCARD", name="Coffee card", valueType="FREE_ITEM", punchesRequired=3,
        scope="CATEGORY", targets=["drinks/coffee"],
    )  # fmt: skip
    await shop.assign(card, "ann")
    coffee = [line("latte", 2, "3.50", "drinks/coffee"), line("mocha", 1, "4.00", "drinks/coffee")]
    for n in range(3):
        body = await gql.execute(
            RECORD,
            {"input": {"siteId": shop.site_id, "orderId": f"o-{n}",
                       "customerId": shop.customers["ann"], "lines": coffee}},
            token=shop.service,
        )  # fmt: skip
        assert body["data"]["recordOrder"]["userErrors"] == []
    # when
    quote = await shop.quote(coffee, token=shop.customer("ann"))
    # then: the cheapest coffee is free and the card starts again
    assert quote["punchcards"] == [
        {"offerId": card, "name": "Coffee card", "punchesRequired": 3, "punchesBefore": 3,
         "punchesAfter": 0, "rewardLineId": "latte", "rewardAmount": {"amount": "3.50"}}
    ]  # fmt: skip
    assert _applied(quote) == [("Coffee card", None, "3.50")]
    assert quote["appliedOffers"][0]["origin"] == "PUNCHCARD"
    assert _totals(quote) == ("11.00", "3.50", "7.50", 75)


async def test_a_clubcard_member_price_is_for_members_only(gql: GraphQLClient) -> None:
    # given: a clubcard with 10% off books, held by ann only
    shop = await _shop(gql)
    club = await shop.offer(
        "CLUBCARD", name="Book club", valueType="PERCENT", value="10", scope="CATEGORY",
        targets=["books"],
    )  # fmt: skip
    await shop.assign(club, "ann")
    basket = [line("novel", 2, "12.50", "books/fiction"), line("pen", 1, "3.00", "office")]
    # when
    member = await shop.quote(basket, token=shop.customer("ann"))
    other = await shop.quote(basket, token=shop.customer("bob"))
    guest = await shop.quote(basket)
    # then
    assert [q["memberDiscount"]["amount"] for q in member["lines"]] == ["2.50", "0.00"]
    assert [q["finalPrice"]["amount"] for q in member["lines"]] == ["22.50", "3.00"]
    assert [(a["offerId"], a["origin"]) for a in member["appliedOffers"]] == [(club, "CLUBCARD")]
    assert _totals(member) == ("28.00", "2.50", "25.50", 255)
    for quote in (other, guest):
        assert [q["memberDiscount"]["amount"] for q in quote["lines"]] == ["0.00", "0.00"]
        assert quote["appliedOffers"] == []
        assert quote["rejectedOffers"] == []
        assert quote["total"]["amount"] == "28.00"


async def test_a_stacking_group_rule_changes_the_result(gql: GraphQLClient) -> None:
    # given: two promotions of the group "summer": 10% and 8.00 off
    shop = await _shop(gql)
    await shop.offer(
        "PROMOTION", name="Ten", valueType="PERCENT", value="10", stackingGroup="summer",
        priority=5,
    )  # fmt: skip
    await shop.offer(
        "PROMOTION", name="Eight", valueType="FIXED_AMOUNT", value="8", stackingGroup="summer"
    )
    basket = [line("p1", 1, "100.00")]
    stacked = await shop.quote(basket)
    # when: the group gives the customer the better one only
    body = await gql.execute(
        STACKING,
        {"input": {"siteId": shop.site_id, "name": "summer", "mode": "BEST_FOR_CUSTOMER"}},
        token=shop.admin,
    )
    best = await shop.quote(basket)
    small = await shop.quote([line("p1", 1, "50.00")])
    # then
    assert body["data"]["setStackingGroup"] == {
        "stackingGroup": {"name": "summer", "mode": "BEST_FOR_CUSTOMER", "priceBase": "DISCOUNTED"},
        "userErrors": [],
    }
    assert _applied(stacked) == [("Ten", None, "10.00"), ("Eight", None, "8.00")]
    assert stacked["total"]["amount"] == "82.00"
    assert _applied(best) == [("Ten", None, "10.00")]
    assert _rejected(best) == [("Eight", None, "NOT_COMBINABLE")]
    assert best["total"]["amount"] == "90.00"
    assert _applied(small) == [("Eight", None, "8.00")]
    assert _rejected(small) == [("Ten", None, "NOT_COMBINABLE")]
    # when: the original prices are the base of STACK
    await gql.execute(
        STACKING,
        {"input": {"siteId": shop.site_id, "name": "summer", "mode": "STACK",
                   "priceBase": "ORIGINAL"}},
        token=shop.admin,
    )  # fmt: skip
    original = await shop.quote([line("p1", 1, "50.00")])
    assert _applied(original) == [("Ten", None, "5.00"), ("Eight", None, "8.00")]


async def test_an_exclusive_offer_stands_alone(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    await shop.offer(
        "COUPON", name="Half", valueType="PERCENT", value="50", couponCode="HALF",
        exclusive=True, priority=10,
    )  # fmt: skip
    quote = await shop.quote([line("p1", 1, "40.00")], couponCodes=["HALF"])
    assert _applied(quote) == [("Half", "HALF", "20.00")]
    assert _rejected(quote) == [("Ten", None, "NOT_COMBINABLE")]


async def test_best_for_the_customer_an_exclusive_coupon_wins_alone_or_loses(
    gql: GraphQLClient,
) -> None:
    # given: a 10% promotion, and an exclusive 20% coupon in the BEST_FOR_CUSTOMER group
    # "best" (createOffer takes an exclusive offer with a stacking group)
    shop = await _shop(gql)
    await shop.stacking("best", "BEST_FOR_CUSTOMER")
    await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10", priority=10)
    await shop.offer(
        "COUPON", name="Twenty", valueType="PERCENT", value="20", couponCode="TWENTY",
        exclusive=True, stackingGroup="best",
    )  # fmt: skip
    basket = [line("p1", 1, "40.00")]
    # when: the customer enters the coupon
    wins = await shop.quote(basket, couponCodes=["TWENTY"])
    recorded = await shop.record("o-1", "ann", lines=basket, couponCodes=["TWENTY"])
    # then: alone it leaves 32.00, the promotion 36.00: the coupon applies, alone
    assert _applied(wins) == [("Twenty", "TWENTY", "8.00")]
    assert [(r["name"], r["reason"], r["message"]) for r in wins["rejectedOffers"]] == [
        ("Ten", "NOT_COMBINABLE",
         'best for the customer: exclusive "Twenty" alone costs 32.00 EUR, the others 36.00 EUR'),
    ]  # fmt: skip
    assert wins["total"]["amount"] == "32.00"
    assert recorded["userErrors"] == []
    assert _applied(recorded["order"]["quote"]) == [("Twenty", "TWENTY", "8.00")]
    assert recorded["order"]["quote"]["total"]["amount"] == "32.00"
    # when: 5.00 off joins the promotions, so together they take more
    await shop.offer("PROMOTION", name="Five off", valueType="FIXED_AMOUNT", value="5")
    loses = await shop.quote(basket, couponCodes=["TWENTY"])
    # then: 40.00 - 4.00 - 5.00 = 31.00 against 32.00 alone: the others apply
    assert _applied(loses) == [("Ten", None, "4.00"), ("Five off", None, "5.00")]
    assert [(r["name"], r["reason"], r["message"]) for r in loses["rejectedOffers"]] == [
        ("Twenty", "NOT_COMBINABLE",
         'best for the customer: "Ten" + "Five off" together cost 31.00 EUR,'
         " this offer alone 32.00 EUR"),
    ]  # fmt: skip
    assert loses["total"]["amount"] == "31.00"


async def test_an_assigned_coupon_without_a_code_applies_by_its_id_for_its_customer_only(
    gql: GraphQLClient,
) -> None:
    # given: a 5.00-off coupon without a code, once per customer, assigned to ann only
    shop = await _shop(gql)
    coupon = await shop.offer(
        "COUPON", name="Welcome", valueType="FIXED_AMOUNT", value="5", maxUsesPerCustomer=1
    )
    await shop.assign(coupon, "ann")
    basket = [line("p1", 2, "15.00")]
    # when: ann's storefront, bob's and a guest's price the basket with the coupon's id
    mine = await shop.quote(basket, token=shop.customer("ann"), offers=[coupon])
    twice = await shop.quote(basket, token=shop.customer("ann"), offers=[coupon, coupon])
    bobs = await shop.quote(basket, token=shop.customer("bob"), offers=[coupon])
    guest = await shop.quote(basket, offers=[coupon])
    # when: the shop records ann's order with it, and then another one
    first = await shop.record("o-1", "ann", lines=basket, offers=[coupon])
    second = await shop.record("o-2", "ann", lines=basket, offers=[coupon])
    for_bob = await shop.record("o-3", "bob", lines=basket, offers=[coupon])
    # then: ann pays 30.00 - 5.00 = 25.00 once; bob and a guest are refused it
    assert _applied(mine) == [("Welcome", None, "5.00")]
    assert [a["origin"] for a in mine["appliedOffers"]] == ["ASSIGNED"]
    assert mine["total"]["amount"] == "25.00"
    assert _applied(twice) == [("Welcome", None, "5.00")]
    assert _rejected(twice) == [("Welcome", None, "DUPLICATE")]
    for quote, who in ((bobs, "you"), (guest, "a guest (sign in)")):
        assert quote["appliedOffers"] == []
        assert [(r["reason"], r["message"]) for r in quote["rejectedOffers"]] == [
            ("NOT_ASSIGNED", f"this offer is not assigned to {who}")
        ]
        assert quote["total"]["amount"] == "30.00"
    assert first["userErrors"] == []
    assert _applied(first["order"]["quote"]) == [("Welcome", None, "5.00")]
    assert first["order"]["quote"]["total"]["amount"] == "25.00"
    assert second["userErrors"] == []
    assert second["order"]["quote"]["appliedOffers"] == []
    assert _rejected(second["order"]["quote"]) == [("Welcome", None, "LIMIT_REACHED")]
    assert second["order"]["quote"]["total"]["amount"] == "30.00"
    assert _rejected(for_bob["order"]["quote"]) == [("assigned offer", None, "NOT_ASSIGNED")]
    assert for_bob["order"]["quote"]["total"]["amount"] == "30.00"


async def test_bad_assigned_offer_ids_are_top_level_errors(gql: GraphQLClient) -> None:
    # given: a coupon assigned to ann
    shop = await _shop(gql)
    coupon = await shop.offer("COUPON", name="Welcome", valueType="FIXED_AMOUNT", value="5")
    await shop.assign(coupon, "ann")
    basket = [line("p1", 1, "10.00")]
    token = shop.customer("ann")
    # when: 21 offers, or the ID of a customer instead of an offer
    many = await shop.quote_error(basket, token=token, offers=[coupon] * 21)
    wrong = await shop.quote_error(basket, token=token, offers=[shop.customers["ann"]])
    # then
    assert many["extensions"]["code"] == "INVALID_VALUE"
    assert [(e["field"], e["code"]) for e in many["extensions"]["userErrors"]] == [
        (["input", "offers"], "INVALID_VALUE")
    ]
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_assigned_coupon_counts_towards_its_max_uses_across_customers(
    gql: GraphQLClient,
) -> None:
    # given: a 10% coupon without a code, 1 use in all, assigned to ann and bob
    shop = await _shop(gql)
    coupon = await shop.offer("COUPON", name="Once", valueType="PERCENT", value="10", maxUses=1)
    await shop.assign(coupon, "ann", "bob")
    basket = [line("p1", 1, "42.50")]
    # when: ann's order uses it, then bob asks for it
    ann = await shop.record("o-1", "ann", lines=basket, offers=[coupon])
    bob = await shop.quote(basket, token=shop.customer("bob"), offers=[coupon])
    # then: 10% of 42.50 = 4.25 for ann; bob finds it used up
    assert _applied(ann["order"]["quote"]) == [("Once", None, "4.25")]
    assert ann["order"]["quote"]["total"]["amount"] == "38.25"
    assert _rejected(bob) == [("Once", None, "LIMIT_REACHED")]
    assert bob["total"]["amount"] == "42.50"


async def test_offer_changes_reach_the_next_checkout(gql: GraphQLClient) -> None:
    # given: a promotion the index already knows
    shop = await _shop(gql)
    promo = await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    basket = [line("p1", 1, "50.00", "shoes")]
    first = await shop.quote(basket)
    # when: its terms change
    body = await gql.execute(
        UPDATE,
        {"input": {"offerId": promo, "terms": {"name": "Twenty", "valueType": "PERCENT",
                   "value": "20", "scope": "CATEGORY", "targets": ["shoes"]}}},
        token=shop.admin,
    )  # fmt: skip
    assert body["data"]["updateOffer"]["userErrors"] == []
    updated = await shop.quote(basket)
    elsewhere = await shop.quote([line("p2", 1, "50.00", "books")])
    # when: it is unpublished, then published again
    await shop.act("unpublishOffer", promo)
    unpublished = await shop.quote(basket)
    await shop.act("publishOffer", promo)
    republished = await shop.quote(basket)
    # when: a new promotion is published, and then deleted
    extra = await shop.offer("PROMOTION", name="Two off", valueType="FIXED_AMOUNT", value="2")
    with_extra = await shop.quote(basket)
    await shop.act("deleteOffer", extra)
    deleted = await shop.quote(basket)
    # then
    assert _applied(first) == [("Ten", None, "5.00")]
    assert _applied(updated) == [("Twenty", None, "10.00")]
    assert elsewhere["appliedOffers"] == []
    assert unpublished["appliedOffers"] == []
    assert unpublished["total"]["amount"] == "50.00"
    assert _applied(republished) == [("Twenty", None, "10.00")]
    assert {a["name"] for a in with_extra["appliedOffers"]} == {"Twenty", "Two off"}
    assert _applied(deleted) == [("Twenty", None, "10.00")]


async def test_an_expired_promotion_is_reported_alike_whenever_the_index_was_built(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given: a promotion that ends in an hour, already in the index
    shop = await _shop(gql)
    ends = clock.now + timedelta(hours=1)
    await shop.offer(
        "PROMOTION", name="Flash", valueType="PERCENT", value="10", validUntil=ends.isoformat()
    )
    basket = [line("p1", 1, "10.00")]
    assert _applied(await shop.quote(basket)) == [("Flash", None, "1.00")]
    # when: it has ended; then an unrelated offer changes (the index is rebuilt)
    clock.now += timedelta(hours=2)
    before_rebuild = await shop.quote(basket)
    await shop.offer("PROMOTION", name="Books", valueType="PERCENT", value="5",
                     scope="CATEGORY", targets=["books"])  # fmt: skip
    after_rebuild = await shop.quote(basket)
    # then: the same basket at the same moment gets the same quote
    assert before_rebuild["appliedOffers"] == after_rebuild["appliedOffers"] == []
    assert before_rebuild == after_rebuild


async def test_an_unpublished_coupon_code_is_not_available(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    coupon = await shop.offer(
        "COUPON", name="Five", valueType="FIXED_AMOUNT", value="5", couponCode="FIVE"
    )
    await shop.act("unpublishOffer", coupon)
    quote = await shop.quote([line("p1", 1, "10.00")], couponCodes=["FIVE"])
    assert _rejected(quote) == [("Five", "FIVE", "NOT_AVAILABLE")]


async def test_checkout_writes_nothing(
    gql: GraphQLClient, db: Database, statements: StatementCounter
) -> None:
    # given: every kind of offer a basket can touch
    shop = await _shop(gql)
    await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10", maxUses=5)
    await shop.offer(
        "COUPON", name="Five", valueType="FIXED_AMOUNT", value="5", couponCode="FIVE",
        maxUsesPerCustomer=2,
    )  # fmt: skip
    card = await shop.offer(
        "PUNCHCARD", name="Card", valueType="FREE_ITEM", punchesRequired=2, scope="CATEGORY",
        targets=["drinks"],
    )  # fmt: skip
    await shop.assign(card, "ann")
    code = await _voucher(shop, "ann")
    await shop.configure(pointValue="0.01")
    await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": shop.customers["ann"], "points": 500, "reason": "test"}},
        token=shop.admin,
    )
    tables = (OrderRow, LedgerEntryRow, OutboxEventRow, OfferCustomerUseRow, VoucherRow)
    before = [await _count(db, t) for t in tables]
    # when
    with statements:
        quote = await shop.quote(
            [line("latte", 1, "30.00", "drinks")], token=shop.customer("ann"),
            couponCodes=["FIVE"], vouchers=[code], payWithPoints=300,
        )  # fmt: skip
    # then: the quote used everything, and nothing changed
    assert {a["origin"] for a in quote["appliedOffers"]} == {"PROMOTION", "COUPON_CODE", "VOUCHER"}
    assert quote["pointsPayment"]["used"] == 300
    assert quote["punchcards"][0]["punchesAfter"] == 1
    assert [await _count(db, t) for t in tables] == before
    async with db.read_sessions() as session:
        uses = list(await session.scalars(select(OfferRow.uses).order_by(OfferRow.id)))
        statuses = list(await session.scalars(select(VoucherRow.status)))
    assert set(uses) <= {0, 1}  # the reward sold one voucher, nothing else was used
    assert statuses == ["ACTIVE"]
    writes = [
        s for s in statements.statements
        if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]  # fmt: skip
    assert writes == []
    again = await shop.quote(
        [line("latte", 1, "30.00", "drinks")], token=shop.customer("ann"),
        couponCodes=["FIVE"], vouchers=[code], payWithPoints=300,
    )  # fmt: skip
    assert again == quote


async def test_with_the_program_off_no_offer_applies_and_no_points(gql: GraphQLClient) -> None:
    # given
    shop = await _shop(gql)
    await shop.offer("PROMOTION", name="Ten", valueType="PERCENT", value="10")
    await shop.offer("COUPON", name="Five", valueType="FIXED_AMOUNT", value="5", couponCode="FIVE")
    code = await _voucher(shop, "ann")
    # when
    await shop.configure(enabled=False)
    quote = await shop.quote(
        [line("p1", 1, "20.00")], token=shop.customer("ann"), couponCodes=["FIVE"],
        vouchers=[code],
    )  # fmt: skip
    # then
    assert _totals(quote) == ("20.00", "0.00", "20.00", 0)
    assert quote["appliedOffers"] == []
    assert _rejected(quote) == [("FIVE", "FIVE", "NOT_AVAILABLE"), (code, code, "NOT_AVAILABLE")]
    assert (quote["basePoints"], quote["rewardPoints"]) == (0, 0)


async def test_a_customer_who_is_not_enrolled_earns_nothing(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    await register(gql, "shop-a", shop.site_id, "cid")
    quote = await shop.quote([line("p1", 1, "20.00")], token=shop.customer("cid"))
    assert _totals(quote) == ("20.00", "0.00", "20.00", 0)


async def test_paying_with_points(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": shop.customers["ann"], "points": 1000, "reason": "test"}},
        token=shop.admin,
    )
    basket = [line("p1", 1, "20.00"), line("p2", 1, "10.00")]
    refused = await shop.quote(basket, token=shop.customer("ann"), payWithPoints=500)
    await shop.configure(pointValue="0.01")
    paid = await shop.quote(basket, token=shop.customer("ann"), payWithPoints=500)
    too_many = await shop.quote(basket, token=shop.customer("ann"), payWithPoints=1001)
    capped = await shop.quote([line("p3", 1, "2.00")], token=shop.customer("ann"),
                                 payWithPoints=1000)  # fmt: skip
    assert refused["pointsPayment"]["refusal"] == "NOT_ELIGIBLE"
    assert refused["total"]["amount"] == "30.00"
    assert paid["pointsPayment"] == {
        "requested": 500, "used": 500, "amount": {"amount": "5.00"}, "refusal": None,
        "message": None,
    }  # fmt: skip
    assert _totals(paid) == ("30.00", "5.00", "25.00", 250)
    assert [d["pointsPayment"] for q in paid["lines"] for d in q["discounts"]] == [True, True]
    assert too_many["pointsPayment"]["refusal"] == "NOT_ELIGIBLE"
    assert (capped["pointsPayment"]["used"], capped["total"]["amount"]) == (200, "0.00")


# -- cost -----------------------------------------------------------------------------------


async def test_1_line_and_50_lines_with_20_promotions_cost_the_same_statements(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    # given: 20 live promotions of every scope
    shop = await _shop(gql)
    for n in range(5):
        await shop.offer("PROMOTION", name=f"order {n}", valueType="PERCENT", value="1")
        await shop.offer(
            "PROMOTION", name=f"cat {n}", valueType="PERCENT", value="2", scope="CATEGORY",
            targets=[f"cat{n}"],
        )  # fmt: skip
        await shop.offer(
            "PROMOTION", name=f"sub {n}", valueType="FIXED_AMOUNT", value="0.10",
            scope="SUBCATEGORY", targets=[f"cat{n}/sub"],
        )  # fmt: skip
        await shop.offer(
            "PROMOTION", name=f"product {n}", valueType="PERCENT", value="3", scope="PRODUCT",
            targets=[f"p{n}"],
        )  # fmt: skip
    one = [line("p0", 1, "10.00", "cat0/sub")]
    fifty = [line(f"p{n}", 1 + n % 3, "10.00", f"cat{n % 7}/sub") for n in range(50)]
    token = shop.customer("ann")
    # warm the token and offer caches (with another basket: its answer is cached, not these)
    await shop.quote([line("p1", 1, "10.00", "cat1/sub")], token=token)
    # when
    with statements:
        small = await shop.quote(one, token=token)
    for_one = list(statements.statements)
    with statements:
        large = await shop.quote(fifty, token=token)
    for_fifty = list(statements.statements)
    # then
    assert len(small["appliedOffers"]) == 8
    assert len(large["appliedOffers"]) == 20
    assert len(large["lines"]) == 50
    assert len(for_one) == len(for_fifty), (for_one, for_fifty)
    # the customer's and the site's read versions (the response cache), the site (for
    # its currency), the site again in the read session, the customer, their account,
    # the read versions again (nothing was written meanwhile: one state) and the
    # customer's next time edge (how long the answer may be kept): nothing per line,
    # nothing per offer
    assert len(for_fifty) == 7, for_fifty
    assert "data_version" in for_fifty[0], for_fifty
    assert "data_version" in for_fifty[5], for_fifty
    # the site's live offers come from the index, not from a query per basket
    assert not [s for s in for_fifty if "FROM offers" in s], for_fifty
