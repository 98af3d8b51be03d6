"""A cart page from one query (#16): every discount on a line carries its name, code and
origin (promotion, coupon code, voucher, threshold voucher, points paid), in the checkout
quote and in the recorded order's, so a storefront labels it without looking anything up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import GraphQLClient
from tests.support.shop import Shop, line

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations"
CART_PAGE = (OPERATIONS / "cart-page.graphql").read_text()
"""The storefront's cart page, as docs/operations keeps it."""
MY_ORDERS = (OPERATIONS / "my-orders.graphql").read_text()
THRESHOLD = {"enabled": True, "points": 1000, "valueType": "FIXED_AMOUNT", "value": "4",
             "validityDays": 30}  # fmt: skip
BASKET = [line("a", 2, "20.00"), line("b", 1, "10.00")]


async def _scene(gql: GraphQLClient) -> tuple[Shop, dict[str, Any]]:
    """ann holds a threshold voucher (4.00 off), a bought voucher (3 off) and 150 points
    (0.01 each); a 10% promotion and a 5.00 coupon WELCOME5 are live. The basket: both."""
    shop = await Shop.open(gql, pointValue="0.01", thresholdReward=THRESHOLD)
    await shop.register("ann", enroll=True)
    await shop.offer("PROMOTION", name="Spring 10%", valueType="PERCENT", value="10")
    await shop.offer(
        "COUPON", name="Welcome", valueType="FIXED_AMOUNT", value="5", couponCode="WELCOME5"
    )
    reward = await shop.offer(
        "REWARD", name="3 off", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=50
    )
    await shop.grant("ann", 1000)  # converted into the threshold voucher
    await shop.grant("ann", 200)
    bought = await shop.voucher("ann", reward)
    vouchers = await shop.vouchers("ann")
    [threshold] = [code for code in vouchers if code != bought]
    basket = {"lines": BASKET, "couponCodes": ["WELCOME5"], "vouchers": [bought, threshold],
              "payWithPoints": 100}  # fmt: skip
    return shop, {"basket": basket, "bought": bought, "threshold": threshold}


def _labels(lines: list[dict[str, Any]]) -> dict[str, set[tuple[Any, ...]]]:
    return {
        q["lineId"]: {
            (d["origin"], d["name"], d["code"], (d.get("offer") or {}).get("id") is not None)
            for d in q["discounts"]
        }
        for q in lines
    }


async def test_every_line_discount_of_the_cart_says_its_name_code_and_origin(
    gql: GraphQLClient,
):
    # given
    shop, scene = await _scene(gql)
    # when: the cart page, as ann's storefront asks it
    body = await gql.execute(
        CART_PAGE, {"input": {"siteId": shop.site_id, **scene["basket"]}},
        token=shop.customer("ann"),
    )  # fmt: skip
    # then: each discount names what it is; offers behind them are there, not for the
    # threshold voucher or the points
    cart = body["data"]["checkout"]
    labels = _labels(cart["lines"])
    expected = {
        ("PROMOTION", "Spring 10%", None, True),
        ("COUPON_CODE", "Welcome", "WELCOME5", True),
        ("VOUCHER", "3 off", scene["bought"], True),
        ("THRESHOLD_VOUCHER", "Reward voucher", scene["threshold"], False),
        ("POINTS", "100 points", None, False),
    }
    assert labels["a"] == expected
    assert labels["b"] == expected
    assert cart["pointsPayment"]["used"] == 100
    # and the lines' discounts add up to what the quote took off
    taken = sum(
        int(d["amount"]["amount"].replace(".", "")) for q in cart["lines"] for d in q["discounts"]
    )
    assert taken == int(cart["discount"]["amount"].replace(".", ""))
    assert body["data"]["viewer"]["balance"]["available"] == 150


async def test_a_guests_cart_labels_discounts_without_showing_the_offers(gql: GraphQLClient):
    # given
    shop, _ = await _scene(gql)
    # when: no token
    body = await gql.execute(
        CART_PAGE, {"input": {"siteId": shop.site_id, "lines": BASKET, "couponCodes": ["WELCOME5"]}}
    )
    # then
    assert body["data"]["viewer"] is None
    assert _labels(body["data"]["checkout"]["lines"])["a"] == {
        ("PROMOTION", "Spring 10%", None, False),
        ("COUPON_CODE", "Welcome", "WELCOME5", False),
    }


async def test_the_recorded_orders_lines_keep_their_labels_in_my_orders(gql: GraphQLClient):
    # given
    shop, scene = await _scene(gql)
    recorded = await shop.record("o-1", "ann", **scene["basket"])
    assert recorded["userErrors"] == []
    # when
    body = await gql.execute(MY_ORDERS, {"first": 1}, token=shop.customer("ann"))
    # then
    [order] = body["data"]["viewer"]["orders"]["nodes"]
    lines = order["quote"]["lines"]
    assert {(d["origin"], d["name"], d["code"]) for q in lines for d in q["discounts"]} == {
        ("PROMOTION", "Spring 10%", None),
        ("COUPON_CODE", "Welcome", "WELCOME5"),
        ("VOUCHER", "3 off", scene["bought"]),
        ("THRESHOLD_VOUCHER", "Reward voucher", scene["threshold"]),
        ("POINTS", "100 points", None),
    }
    assert order["pointsPaid"] == 100


DRAFT_CODE = """
query DraftCode($input: CheckoutInput!) {
  checkout(input: $input) { rejectedOffers { name code reason offerId offer { id name } } }
}
"""


async def test_a_customer_sees_no_unpublished_offer_behind_a_code(gql: GraphQLClient):
    # given: a coupon still in draft, whose code ann enters
    shop, _ = await _scene(gql)
    draft = await shop.offer(
        "COUPON", publish=False, name="Autumn (secret)", valueType="PERCENT", value="30",
        couponCode="AUTUMN30",
    )  # fmt: skip
    basket = {"input": {"siteId": shop.site_id, "lines": BASKET, "couponCodes": ["AUTUMN30"]}}
    # when
    mine = await gql.execute(DRAFT_CODE, basket, token=shop.customer("ann"))
    staff = await gql.execute(DRAFT_CODE, basket, token=shop.service)
    # then: refused as before; the offer itself only for staff
    [rejected] = mine["data"]["checkout"]["rejectedOffers"]
    assert (rejected["code"], rejected["reason"], rejected["offer"]) == (
        "AUTUMN30", "NOT_AVAILABLE", None,
    )  # fmt: skip
    [seen] = staff["data"]["checkout"]["rejectedOffers"]
    assert seen["offer"] == {"id": draft, "name": "Autumn (secret)"}
