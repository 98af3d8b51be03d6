"""Who may read insight (programStats, programSeries, a customer's insight, an offer's
performance), and how bad periods, dates and metrics are refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.insight_helpers import INSIGHT, PERFORMANCE, SERIES, STATS
from tests.api.test_insight import NOVEMBER
from tests.conftest import GraphQLClient
from tests.support.shop import Shop, create_site, line

OWN_CUSTOMER = """
query($id: ID!) {
  customer(id: $id) { externalId insight { orderCount totalSpent { amount } } }
}
"""
OWN_CUSTOMER_WITHOUT_INSIGHT = "query($id: ID!) { customer(id: $id) { externalId } }"
MY_OFFERS_PERFORMANCE = """
{
  viewer {
    externalId
    offers { edges { node { canRedeem offer { name performance { redemptions } } } } }
  }
}
"""
MY_OFFERS = "{ viewer { offers { edges { node { canRedeem offer { name } } } } } }"


class PromoShop(Shop):
    """A shop with a 10% promotion."""

    promo = ""


@pytest.fixture
async def shop(gql: GraphQLClient) -> PromoShop:
    """shop-a, where ann placed one order of 20.00 on 2026-01-15, 10% off with the
    promotion; shop-b exists too."""
    shop = PromoShop(gql, await create_site(gql, "shop-a"))
    await create_site(gql, "shop-b")
    await shop.register("ann", enroll=True)
    shop.promo = await shop.offer("PROMOTION", name="All 10%", valueType="PERCENT", value="10")
    payload = await shop.record("o-1", "ann", lines=[line("p1", 2, "10", "books")])
    assert payload["userErrors"] == [], payload
    assert payload["order"]["quote"]["total"] == {"amount": "18.00"}
    return shop


def _period(query: str, site_id: str, first: str, last: str) -> dict[str, str]:
    """Variables of STATS or SERIES (which counts orders)."""
    metric = {"m": "ORDERS"} if query is SERIES else {}
    return {"s": site_id, "from": first, "to": last, **metric}


def _codes(body: dict[str, Any]) -> list[tuple[list[Any] | None, str]]:
    return [(e.get("path"), e["extensions"]["code"]) for e in body["errors"]]


# -- programStats and programSeries: admins of the site only ------------------------------


async def test_an_admin_of_another_site_may_not_read_the_programs_numbers(
    gql: GraphQLClient, shop: PromoShop
):
    # given
    stranger = gql.token("admin", "shop-b")
    # when
    stats = await gql.execute(
        STATS, {"s": shop.site_id, **NOVEMBER}, token=stranger, expect_errors=True
    )
    series = await gql.execute(
        SERIES, {"s": shop.site_id, **NOVEMBER, "m": "ORDERS"}, token=stranger,
        expect_errors=True,
    )  # fmt: skip
    # then
    assert stats["data"] is None
    assert _codes(stats) == [(["programStats"], "FORBIDDEN")]
    assert series["data"] is None
    assert _codes(series) == [(["programSeries"], "FORBIDDEN")]


@pytest.mark.parametrize("role", ["service", "customer", None])
async def test_only_admin_tokens_may_read_the_programs_numbers(
    gql: GraphQLClient, shop: PromoShop, role: str | None
):
    # given: the shop backend, ann herself, or no token at all
    token = gql.token(role, "shop-a", subject="ann") if role else None
    # when
    stats = await gql.execute(
        STATS, {"s": shop.site_id, **NOVEMBER}, token=token, expect_errors=True
    )
    series = await gql.execute(
        SERIES, {"s": shop.site_id, **NOVEMBER, "m": "REVENUE"}, token=token, expect_errors=True
    )
    # then
    for body, name in ((stats, "programStats"), (series, "programSeries")):
        assert body["data"] is None
        assert [(e["path"], e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            ([name], "Only an admin token may do this.", "FORBIDDEN")
        ]


async def test_the_sites_admin_reads_the_programs_numbers(gql: GraphQLClient, shop: PromoShop):
    # when
    stats = await gql.execute(STATS, {"s": shop.site_id, **NOVEMBER}, token=shop.admin)
    series = await gql.execute(
        SERIES, {"s": shop.site_id, "from": "2026-01-15", "to": "2026-01-15", "m": "ORDERS"},
        token=shop.admin,
    )  # fmt: skip
    # then: the order was placed on the clock's day, 2026-01-15
    assert stats["data"]["programStats"]["memberOrders"]["orders"] == 0
    assert series["data"]["programSeries"] == [{"day": "2026-01-15", "value": "1"}]


# -- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [STATS, SERIES])
async def test_to_before_from_is_an_invalid_value_of_to(
    gql: GraphQLClient, shop: PromoShop, query: str
):
    # when
    body = await gql.execute(
        query, _period(query, shop.site_id, "2026-11-02", "2026-11-01"), token=shop.admin,
        expect_errors=True,
    )  # fmt: skip
    # then
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "INVALID_VALUE",
        "userErrors": [{"field": ["to"], "code": "INVALID_VALUE", "message": "to is before from"}],
    }


@pytest.mark.parametrize("query", [STATS, SERIES])
async def test_a_period_of_367_days_is_too_long(gql: GraphQLClient, shop: PromoShop, query: str):
    # when: 2024-01-01 to 2025-01-01, both included, is 367 days (2024 is a leap year)
    body = await gql.execute(
        query, _period(query, shop.site_id, "2024-01-01", "2025-01-01"), token=shop.admin,
        expect_errors=True,
    )  # fmt: skip
    # then
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_VALUE"
    assert error["extensions"]["userErrors"] == [
        {"field": ["to"], "code": "INVALID_VALUE", "message": "a period is at most 366 days"}
    ]


async def test_a_period_of_exactly_366_days_is_accepted(gql: GraphQLClient, shop: PromoShop):
    # given: 2024-01-01 to 2024-12-31, a whole leap year
    period = {"s": shop.site_id, "from": "2024-01-01", "to": "2024-12-31"}
    # when
    stats = await gql.execute(STATS, period, token=shop.admin)
    series = await gql.execute(SERIES, {**period, "m": "NEW_MEMBERS"}, token=shop.admin)
    # then
    assert (stats["data"]["programStats"]["from"], stats["data"]["programStats"]["to"]) == (
        "2024-01-01", "2024-12-31",
    )  # fmt: skip
    points = series["data"]["programSeries"]
    assert len(points) == 366
    assert (points[0]["day"], points[-1]["day"]) == ("2024-01-01", "2024-12-31")
    assert {p["value"] for p in points} == {"0"}


async def test_a_one_day_period_is_accepted_and_its_series_has_one_point(
    gql: GraphQLClient, shop: PromoShop
):
    # given
    day = {"s": shop.site_id, "from": "2026-01-15", "to": "2026-01-15"}
    # when
    stats = await gql.execute(STATS, day, token=shop.admin)
    series = await gql.execute(SERIES, {**day, "m": "REVENUE"}, token=shop.admin)
    # then: ann's order, 20.00 less 10%
    assert stats["data"]["programStats"]["memberOrders"]["orders"] == 1
    assert stats["data"]["programStats"]["memberOrders"]["revenue"] == {"amount": "18.00"}
    assert series["data"]["programSeries"] == [{"day": "2026-01-15", "value": "18.00"}]


@pytest.mark.parametrize("query", [STATS, SERIES])
async def test_a_malformed_date_is_refused_before_anything_runs(
    gql: GraphQLClient, shop: PromoShop, query: str
):
    # when
    body = await gql.execute(
        query, _period(query, shop.site_id, "2026-13-01", "2026-12-31"), token=shop.admin,
        expect_errors=True,
    )  # fmt: skip
    # then: no data at all, one error naming the variable and the value
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"].startswith(
        "Variable '$from' has invalid value: Value cannot represent a Date: \"2026-13-01\"."
    )
    assert "path" not in error


async def test_an_unknown_metric_fails_validation(gql: GraphQLClient, shop: PromoShop):
    # when
    as_variable = await gql.execute(
        SERIES, {"s": shop.site_id, **NOVEMBER, "m": "PROFIT"}, token=shop.admin,
        expect_errors=True,
    )  # fmt: skip
    inline = await gql.execute(
        'query($s: ID!) { programSeries(siteId: $s, from: "2026-11-01", to: "2026-11-30", '
        "metric: PROFIT) { day value } }",
        {"s": shop.site_id},
        token=shop.admin,
        expect_errors=True,
    )
    # then
    assert "data" not in as_variable
    assert [e["message"] for e in as_variable["errors"]] == [
        "Variable '$m' has invalid value: Value 'PROFIT' does not exist in 'InsightMetric' enum."
    ]
    assert "data" not in inline
    assert [e["message"] for e in inline["errors"]] == [
        "Value 'PROFIT' does not exist in 'InsightMetric' enum."
    ]


# -- a customer's insight: the site's admins and shop backend ------------------------------


@pytest.mark.parametrize("role", ["admin", "service"])
async def test_the_sites_staff_read_a_customers_insight(
    gql: GraphQLClient, shop: PromoShop, role: str
):
    # when
    body = await gql.execute(
        INSIGHT, {"id": shop.customers["ann"]}, token=gql.token(role, "shop-a")
    )
    # then
    insight = body["data"]["customer"]["insight"]
    assert (insight["orderCount"], insight["totalSpent"]) == (
        1, {"amount": "18.00", "currencyCode": "EUR"},
    )  # fmt: skip
    assert insight["topProducts"] == [
        {"productId": "p1", "quantity": 2, "spent": {"amount": "18.00"}}
    ]


async def test_a_customer_may_not_read_their_own_insight_but_still_sees_themselves(
    gql: GraphQLClient, shop: PromoShop
):
    # given
    ann = gql.token("customer", "shop-a", subject="ann")
    # when
    without = await gql.execute(
        OWN_CUSTOMER_WITHOUT_INSIGHT, {"id": shop.customers["ann"]}, token=ann
    )
    body = await gql.execute(
        OWN_CUSTOMER, {"id": shop.customers["ann"]}, token=ann, expect_errors=True
    )
    # then
    assert without["data"] == {"customer": {"externalId": "ann"}}
    assert _codes(body) == [(["customer", "insight"], "FORBIDDEN")]
    # fails while insight is declared CustomerInsight!: the refusal nulls the whole customer
    assert body["data"] == {"customer": {"externalId": "ann", "insight": None}}


@pytest.mark.parametrize("role", ["service", "admin"])
async def test_another_sites_staff_cannot_reach_a_customers_insight(
    gql: GraphQLClient, shop: PromoShop, role: str
):
    # when
    body = await gql.execute(
        OWN_CUSTOMER, {"id": shop.customers["ann"]}, token=gql.token(role, "shop-b")
    )
    # then: the customer is not visible at all
    assert body["data"] == {"customer": None}


# -- an offer's performance: the site's admins and shop backend -------------------------------


@pytest.mark.parametrize("role", ["admin", "service"])
async def test_the_sites_staff_read_an_offers_performance(
    gql: GraphQLClient, shop: PromoShop, role: str
):
    # when
    body = await gql.execute(PERFORMANCE, {"id": shop.promo}, token=gql.token(role, "shop-a"))
    # then
    assert body["data"]["offer"]["performance"] == {
        "redemptions": 1, "uniqueCustomers": 1, "discountGiven": {"amount": "2.00"},
        "ordersInfluenced": 1, "revenueInfluenced": {"amount": "18.00"},
    }  # fmt: skip


async def test_a_customer_cannot_load_an_offer_by_id(gql: GraphQLClient, shop: PromoShop):
    # given
    ann = gql.token("customer", "shop-a", subject="ann")
    # when
    body = await gql.execute(PERFORMANCE, {"id": shop.promo}, token=ann, expect_errors=True)
    # then
    assert body["data"] == {"offer": None}
    assert [(e["path"], e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["offer"], "Only an admin or service token may do this.", "FORBIDDEN")
    ]


async def test_a_customer_reaching_an_offer_through_my_offers_may_not_read_its_performance(
    gql: GraphQLClient, shop: PromoShop
):
    # given: a reward ann sees on her My offers page
    await shop.offer("REWARD", name="Coffee", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=50)
    ann = gql.token("customer", "shop-a", subject="ann")
    listed = await gql.execute(MY_OFFERS, token=ann)
    assert [e["node"]["offer"] for e in listed["data"]["viewer"]["offers"]["edges"]] == [
        {"name": "Coffee"}
    ]
    # when
    body = await gql.execute(MY_OFFERS_PERFORMANCE, token=ann, expect_errors=True)
    # then: only performance is refused; the rest of her page is still there
    assert _codes(body) == [
        (["viewer", "offers", "edges", 0, "node", "offer", "performance"], "FORBIDDEN")
    ]
    assert body["data"] == {
        "viewer": {"externalId": "ann", "offers": {"edges": [
            {"node": {"canRedeem": False, "offer": {"name": "Coffee", "performance": None}}}
        ]}}
    }  # fmt: skip
