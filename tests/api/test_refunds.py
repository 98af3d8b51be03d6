"""refundOrder keeps the product's promise: the points an order earned are taken back and
the points it paid with given back, in proportion, by the site's points rounding and
cumulatively, so an order refunded in parts takes back and gives back exactly what it
earned and paid; a voucher comes back once what it paid for is refunded in full; the
refunded money no longer counts for AMOUNT_SPENT tiers."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.operations import CANCEL_ORDER
from tests.support.shop import Shop, create_site, line

REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) {
    order { status refunded { amount } pointsEarned pointsPaid pointsTakenBack pointsGivenBack
            pointsNotRecovered }
    userErrors { field code message }
  }
}
"""
PROGRESS = """
query($id: ID!) { customer(id: $id) { tierProgress { metric value remaining } } }
"""
CREATE_TIER = """
mutation($input: CreateTierInput!) { createTier(input: $input) { userErrors { code } } }
"""


async def _refund(shop: Shop, refund_id: str, **what: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        REFUND,
        {"input": {"siteId": shop.site_id, "orderId": "o-1", "refundId": refund_id, **what}},
        token=shop.service,
    )
    payload: dict[str, Any] = body["data"]["refundOrder"]
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def _spent(shop: Shop) -> int:
    """The customer's AMOUNT_SPENT measure (last 12 months, minor units)."""
    body = await shop.gql.execute(PROGRESS, {"id": shop.customers["ann"]}, token=shop.admin)
    progress = body["data"]["customer"]["tierProgress"]
    assert progress["metric"] == "AMOUNT_SPENT"
    value: int = progress["value"]
    return value


async def _scene(gql: GraphQLClient, rounding: str) -> tuple[Shop, str]:
    """ann holds 1000 points and a voucher taking 3.00 off product c; a spend tier."""
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.configure(pointValue="0.02", orderPointsPending=False, pointsRounding=rounding)
    await shop.register("ann", enroll=True)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": "Gold", "rank": 1, "metric": "AMOUNT_SPENT",
                   "threshold": 100_000, "windowMonths": 12}},
        token=shop.admin,
    )  # fmt: skip
    assert body["data"]["createTier"]["userErrors"] == []
    reward = await shop.offer(
        "REWARD", name="3 off c", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=100,
        scope="PRODUCT", targets=["c"],
    )  # fmt: skip
    await shop.grant("ann", 1100)
    return shop, await shop.voucher("ann", reward)


# Order o-1: a 3 x 10.00, b 7.00, c 6.00 less the voucher's 3.00 = 40.00; 350 points at
# 0.02 pay 7.00, spread in proportion: a 5.25, b 1.23, c 0.52 (the tie to line b). Paid:
# a 24.75, b 5.77, c 2.48 = 33.00, which earns 330 points.
# Part 1, one of a (8.25, points payment 1.75): earned 330 x 825/3300 = 82.5; paid back
#   350 x 175/700 = 87.5.
# Part 2, c (2.48, payment 0.52): earned 330 x 1073/3300 = 107.3; paid 350 x 227/700 = 113.5;
#   the voucher's line is refunded in full: the voucher is active again.
# Part 3, the rest (a x 2, b): refunded in full, everything.
@pytest.mark.parametrize(
    ("rounding", "taken", "given"),
    [
        ("DOWN", [82, 107, 330], [87, 113, 350]),
        ("HALF_UP", [83, 107, 330], [88, 114, 350]),
        ("UP", [83, 108, 330], [88, 114, 350]),
    ],
)
async def test_a_three_part_refund_takes_back_what_was_earned_and_gives_back_what_was_paid(
    gql: GraphQLClient, db: Database, rounding: str, taken: list[int], given: list[int]
) -> None:
    # given
    shop, voucher = await _scene(gql, rounding)
    recorded = await shop.record(
        "o-1", "ann", lines=[line("a", 3, "10.00"), line("b", 1, "7.00"), line("c", 1, "6.00")],
        vouchers=[voucher], payWithPoints=350,
    )  # fmt: skip
    assert recorded["userErrors"] == []
    order = recorded["order"]
    assert [q["finalPrice"]["amount"] for q in order["quote"]["lines"]] == ["24.75", "5.77", "2.48"]
    assert (order["pointsEarned"], order["pointsPaid"]) == (330, 350)
    assert (await shop.balance("ann"))["available"] == 1000 - 350 + 330
    assert await shop.vouchers("ann") == {voucher: "USED"}
    assert await _spent(shop) == 3300
    # when: part 1, one of line a
    first = await _refund(shop, "r-1", lines=[{"lineId": "a", "quantity": 1}])
    # then
    assert (first["refunded"]["amount"], first["pointsTakenBack"], first["pointsGivenBack"]) == (
        "8.25", taken[0], given[0],
    )  # fmt: skip
    assert (await shop.balance("ann"))["available"] == 980 - taken[0] + given[0]
    assert await shop.vouchers("ann") == {voucher: "USED"}
    assert await _spent(shop) == 2475
    assert await verify_ledger(db) == []
    # when: part 2, line c, all the voucher paid for
    second = await _refund(shop, "r-2", lines=[{"lineId": "c", "quantity": 1}])
    # then: the voucher can be used again
    assert (second["refunded"]["amount"], second["pointsTakenBack"], second["pointsGivenBack"]) == (
        "10.73", taken[1], given[1],
    )  # fmt: skip
    assert (await shop.balance("ann"))["available"] == 980 - taken[1] + given[1]
    assert await shop.vouchers("ann") == {voucher: "ACTIVE"}
    quote = await shop.checkout("ann", lines=[line("c", 1, "6.00")], vouchers=[voucher])
    assert quote["total"]["amount"] == "3.00"
    assert await _spent(shop) == 2227
    assert await verify_ledger(db) == []
    # when: part 3, the rest
    third = await _refund(
        shop, "r-3", lines=[{"lineId": "a", "quantity": 2}, {"lineId": "b", "quantity": 1}]
    )
    # then: exactly what was earned taken back, exactly what was paid given back
    assert third["status"] == "REFUNDED"
    assert (third["refunded"]["amount"], third["pointsTakenBack"], third["pointsGivenBack"]) == (
        "33.00", 330, 350,
    )  # fmt: skip
    assert third["pointsNotRecovered"] == 0
    assert await shop.balance("ann") == {
        "available": 1000, "pending": 0, "lifetimeEarned": 1100, "lifetimeRedeemed": 100,
    }  # fmt: skip
    assert await shop.vouchers("ann") == {voucher: "ACTIVE"}
    assert await _spent(shop) == 0
    assert await verify_ledger(db) == []


async def test_refunds_by_amount_give_back_paid_points_in_proportion_and_the_voucher_at_the_end(
    gql: GraphQLClient, db: Database
) -> None:
    # given: 20.00 less the voucher (3.00 off c) less 200 points (4.00): 13.00, 130 points
    shop, voucher = await _scene(gql, "DOWN")
    recorded = await shop.record(
        "o-1", "ann", lines=[line("a", 1, "14.00"), line("c", 1, "6.00")], vouchers=[voucher],
        payWithPoints=200,
    )  # fmt: skip
    assert recorded["order"]["quote"]["total"]["amount"] == "13.00"
    assert (recorded["order"]["pointsEarned"], recorded["order"]["pointsPaid"]) == (130, 200)
    # when: 4.00, then 9.00 of 13.00
    first = await _refund(shop, "r-1", amount="4.00")
    vouchers_between = await shop.vouchers("ann")
    rest = await _refund(shop, "r-2", amount="9.00")
    # then: 130 x 4/13 = 40; 200 x 4/13 = 61.5 -> 61; then all of both
    assert (first["pointsTakenBack"], first["pointsGivenBack"]) == (40, 61)
    assert vouchers_between == {voucher: "USED"}  # an amount is not line c refunded
    assert (rest["status"], rest["pointsTakenBack"], rest["pointsGivenBack"]) == (
        "REFUNDED", 130, 200,
    )  # fmt: skip
    assert await shop.vouchers("ann") == {voucher: "ACTIVE"}
    assert (await shop.balance("ann"))["available"] == 1000
    assert await _spent(shop) == 0
    assert await verify_ledger(db) == []


async def test_cancelling_after_a_partial_refund_gives_back_the_rest_and_not_a_voucher_used_again(
    gql: GraphQLClient, db: Database
) -> None:
    # given: o-1 as in the three-part refund, its line c refunded (voucher back), and the
    # voucher then used by order o-2 (6.00 - 3.00, earning 30 points)
    shop, voucher = await _scene(gql, "DOWN")
    await shop.record(
        "o-1", "ann", lines=[line("a", 3, "10.00"), line("b", 1, "7.00"), line("c", 1, "6.00")],
        vouchers=[voucher], payWithPoints=350,
    )  # fmt: skip
    await _refund(shop, "r-1", lines=[{"lineId": "c", "quantity": 1}])
    again = await shop.record("o-2", "ann", lines=[line("c", 1, "6.00")], vouchers=[voucher])
    assert again["order"]["quote"]["total"]["amount"] == "3.00"
    # when
    body = await gql.execute(
        CANCEL_ORDER, {"input": {"siteId": shop.site_id, "orderId": "o-1"}}, token=shop.service
    )
    cancelled = body["data"]["cancelOrder"]
    # then: o-1's points all back where they were; the voucher stays o-2's
    assert cancelled["userErrors"] == []
    assert cancelled["order"]["status"] == "CANCELLED"
    assert (cancelled["order"]["pointsTakenBack"], cancelled["order"]["pointsPaid"]) == (330, 350)
    assert (await shop.order("o-1"))["pointsTakenBack"] == 330
    assert await shop.vouchers("ann") == {voucher: "USED"}
    assert (await shop.balance("ann"))["available"] == 1000 + 30
    assert await _spent(shop) == 300  # o-2 alone
    assert await verify_ledger(db) == []


async def test_an_order_paid_in_full_with_points_gives_them_back_line_by_line(
    gql: GraphQLClient, db: Database
) -> None:
    # given: 2 x 5.00 paid with 500 points (0.02 each): nothing to pay, nothing earned
    shop, _ = await _scene(gql, "DOWN")
    recorded = await shop.record("o-1", "ann", lines=[line("a", 2, "5.00")], payWithPoints=500)
    assert recorded["order"]["quote"]["total"]["amount"] == "0.00"
    # when: one unit, then the other
    first = await _refund(shop, "r-1", lines=[{"lineId": "a", "quantity": 1}])
    second = await _refund(shop, "r-2", lines=[{"lineId": "a", "quantity": 1}])
    # then: half the points, and the order is refunded only when every unit is
    assert (first["status"], first["pointsGivenBack"]) == ("PLACED", 250)
    assert (second["status"], second["pointsGivenBack"]) == ("REFUNDED", 500)
    assert (await shop.balance("ann"))["available"] == 1000
    assert await verify_ledger(db) == []
