"""recordOrder records what was quoted, or nothing: expectedTotal, expectedPoints and
expectedPointsPaid are checked against the recalculation (QUOTE_CHANGED, nothing written),
and notApplied names the requested codes and vouchers the order left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LedgerEntryRow, OrderRow, OutboxEventRow
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.operations import ORDER_FIELDS, QUOTE_FIELDS
from tests.support.shop import Shop, create_site, line

RECORD = (
    """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) {
    order { ...O }
    notApplied { code origin reason message }
    userErrors { field code message }
  }
}
"""
    + ORDER_FIELDS
    + QUOTE_FIELDS
)


async def _record(shop: Shop, order_id: str, customer: str | None, **basket: Any) -> Any:
    body = await shop.gql.execute(
        RECORD, {"input": {"orderId": order_id, **shop.basket(customer, **basket)}},
        token=shop.service,
    )  # fmt: skip
    return body["data"]["recordOrder"]


async def _rows(db: Database) -> tuple[int, int, int]:
    """(orders, ledger entries, outbox events)."""
    async with db.read_sessions() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(table))
            for table in (OrderRow, LedgerEntryRow, OutboxEventRow)
        ]
    return counts[0] or 0, counts[1] or 0, counts[2] or 0


async def _shop_with_two_vouchers(gql: GraphQLClient) -> tuple[Shop, str, str]:
    """ann holds 1000 - 2 x 100 = 800 points and two vouchers worth 3.00 each."""
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.configure(pointValue="0.01", orderPointsPending=False)
    await shop.register("ann", enroll=True)
    reward = await shop.offer(
        "REWARD", name="3 off", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=100
    )
    await shop.grant("ann", 1000)
    return shop, await shop.voucher("ann", reward), await shop.voucher("ann", reward)


async def test_a_voucher_used_meanwhile_is_quote_changed_and_nothing_is_recorded(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a quote of 20.00 less both vouchers (6.00) less 200 points (2.00): 12.00,
    # earning 120 points (10 a euro paid)
    shop, first, second = await _shop_with_two_vouchers(gql)
    basket: dict[str, Any] = {
        "lines": [line("a", 2, "10.00")], "vouchers": [first, second], "payWithPoints": 200,
    }  # fmt: skip
    quote = await shop.checkout("ann", **basket)
    assert (quote["total"]["amount"], quote["points"], quote["pointsPayment"]["used"]) == (
        "12.00", 120, 200,
    )  # fmt: skip
    # ...then the first voucher is used by another order (5.00 - 3.00: 20 points)
    other = await _record(shop, "o-0", "ann", lines=[line("b", 1, "5.00")], vouchers=[first])
    assert other["userErrors"] == []
    before = await _rows(db)
    balance = await shop.balance("ann")
    # when: the shop records what it charged
    changed = await _record(
        shop, "o-1", "ann", **basket, expectedTotal="12.00", expectedPoints=120,
        expectedPointsPaid=200,
    )  # fmt: skip
    # then: both numbers, quoted and recalculated, and nothing written
    assert changed["order"] is None
    assert changed["notApplied"] == []
    assert changed["userErrors"] == [
        {"field": ["input", "expectedTotal"], "code": "QUOTE_CHANGED",
         "message": "recalculated now, the order totals 15.00 EUR, not the 12.00 EUR quoted; "
                    "nothing was recorded"},
        {"field": ["input", "expectedPoints"], "code": "QUOTE_CHANGED",
         "message": "recalculated now, the order earns 150 points, not the 120 points quoted; "
                    "nothing was recorded"},
    ]  # fmt: skip
    assert await _rows(db) == before
    assert await shop.order("o-1") is None
    assert await shop.balance("ann") == balance
    assert await shop.vouchers("ann") == {first: "USED", second: "ACTIVE"}
    # when: the shop quotes again (15.00), charges that, and records it
    recorded = await _record(
        shop, "o-1", "ann", **basket, expectedTotal="15.00", expectedPoints=150,
        expectedPointsPaid=200,
    )  # fmt: skip
    # then: recorded as quoted; the payload says the first voucher was left out
    assert recorded["userErrors"] == []
    order = recorded["order"]
    assert (order["quote"]["total"]["amount"], order["pointsEarned"], order["pointsPaid"]) == (
        "15.00", 150, 200,
    )  # fmt: skip
    assert recorded["notApplied"] == [
        {"code": first, "origin": "VOUCHER", "reason": "ALREADY_USED",
         "message": f"voucher {first} has been used"},
    ]  # fmt: skip
    assert await shop.vouchers("ann") == {first: "USED", second: "USED"}
    # 800 + 20 (o-0) - 200 paid + 150 earned
    assert (await shop.balance("ann"))["available"] == 770
    assert await verify_ledger(db) == []


async def test_a_retry_of_a_recorded_order_replays_and_a_retry_expecting_other_numbers_is_refused(
    gql: GraphQLClient, db: Database
) -> None:
    # given: an order recorded with its expectations met
    shop, first, _ = await _shop_with_two_vouchers(gql)
    basket: dict[str, Any] = {"lines": [line("a", 2, "10.00")], "vouchers": [first]}
    recorded = await _record(
        shop, "o-1", "ann", **basket, expectedTotal="17.00", expectedPoints=170
    )
    assert recorded["userErrors"] == []
    rows = await _rows(db)
    # when: the same request again, once without the expectations, once expecting more
    again = await _record(shop, "o-1", "ann", **basket, expectedTotal="17", expectedPoints=170)
    without = await _record(shop, "o-1", "ann", **basket)
    other = await _record(shop, "o-1", "ann", **basket, expectedTotal="20.00")
    # then: the stored order twice; the third is told what was recorded
    assert again == recorded
    assert without == recorded
    assert other["order"] is None
    assert other["userErrors"] == [
        {"field": ["input", "expectedTotal"], "code": "ORDER_ALREADY_RECORDED",
         "message": "order o-1 was recorded with 17.00 EUR, not the 20.00 EUR expected"},
    ]  # fmt: skip
    assert await _rows(db) == rows


async def test_without_expectations_the_payload_names_the_codes_and_vouchers_left_out(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a used voucher, an unknown code, a coupon below its minimum, and a
    # promotion below its minimum (automatic: not asked for, so not named)
    shop, first, _ = await _shop_with_two_vouchers(gql)
    await _record(shop, "o-0", "ann", lines=[line("b", 1, "5.00")], vouchers=[first])
    await shop.offer(
        "COUPON", name="Big 10", valueType="FIXED_AMOUNT", value="10", couponCode="BIG10",
        minimumOrderValue="100",
    )  # fmt: skip
    await shop.offer(
        "PROMOTION", name="Over 50", valueType="PERCENT", value="5", minimumOrderValue="50"
    )
    await shop.offer("COUPON", name="Two", valueType="FIXED_AMOUNT", value="2", couponCode="TWO")
    # when
    recorded = await _record(
        shop, "o-1", "ann", lines=[line("a", 2, "10.00")], vouchers=[first],
        couponCodes=["nope", "big10", "two"],
    )  # fmt: skip
    # then: recorded at 20.00 - 2.00, and the three left out named
    assert recorded["userErrors"] == []
    assert recorded["order"]["quote"]["total"]["amount"] == "18.00"
    assert {(n["code"], n["origin"], n["reason"]) for n in recorded["notApplied"]} == {
        ("BIG10", "COUPON_CODE", "BELOW_MINIMUM"),
        ("NOPE", "COUPON_CODE", "UNKNOWN_CODE"),
        (first, "VOUCHER", "ALREADY_USED"),
    }
    assert len(recorded["notApplied"]) == 3
    assert "Over 50" in {r["name"] for r in recorded["order"]["quote"]["rejectedOffers"]}
    assert all(n["message"] for n in recorded["notApplied"])


async def test_expected_points_paid_and_a_guests_expected_points(
    gql: GraphQLClient, db: Database
) -> None:
    # given: ann has 800 points and asks to pay with 1000
    shop, _, _ = await _shop_with_two_vouchers(gql)
    before = await _rows(db)
    # when
    short = await _record(
        shop, "o-1", "ann", lines=[line("a", 1, "30.00")], payWithPoints=1000,
        expectedPointsPaid=1000,
    )  # fmt: skip
    guest_wrong = await _record(
        shop, "o-2", None, lines=[line("a", 1, "30.00")], expectedPoints=300
    )
    guest_right = await _record(
        shop, "o-3", None, lines=[line("a", 1, "30.00")], expectedTotal="30.00", expectedPoints=0
    )
    # then: more points than ann holds pay nothing; a guest's order earns nothing
    assert short["userErrors"] == [
        {"field": ["input", "expectedPointsPaid"], "code": "QUOTE_CHANGED",
         "message": "recalculated now, the order uses for payment 0 points, not the "
                    "1000 points quoted; nothing was recorded"},
    ]  # fmt: skip
    assert [e["code"] for e in guest_wrong["userErrors"]] == ["QUOTE_CHANGED"]
    assert guest_right["userErrors"] == []
    assert await _rows(db) == (before[0] + 1, before[1], before[2] + 1)


async def test_expectations_no_order_can_meet_are_invalid(gql: GraphQLClient) -> None:
    shop = Shop(gql, await create_site(gql, "shop-a"))
    cents = await _record(shop, "o-1", None, lines=[line("a", 1, "1.00")], expectedTotal="1.001")
    negative = await _record(
        shop, "o-2", None, lines=[line("a", 1, "1.00")], expectedPoints=-1, expectedPointsPaid=-2
    )
    assert [(e["field"], e["code"]) for e in cents["userErrors"]] == [
        (["input", "expectedTotal"], "INVALID_VALUE")
    ]
    assert [(e["field"], e["code"]) for e in negative["userErrors"]] == [
        (["input", "expectedPoints"], "INVALID_VALUE"),
        (["input", "expectedPointsPaid"], "INVALID_VALUE"),
    ]
    assert await shop.order("o-1") is None
