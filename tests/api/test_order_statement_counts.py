"""recordOrder and completeOrder cost a fixed list of SQL statements, whatever the number
of live offers (and of offers the order uses)."""

from __future__ import annotations

import re

from loyalty_gql.db.engine import Database
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.operations import COMPLETE_ORDER, CREATE_TIER
from tests.support.shop import Shop, line

LINES = [line(f"sku-{k}", 1 + k, "10.99") for k in range(3)]


def kind(sql: str) -> str:
    """A statement as its verb and table: ``SELECT orders``, ``INSERT order_lines``,
    ``SELECT point_accounts FOR UPDATE``."""
    text = " ".join(sql.split())
    # PostgreSQL's version bump tells the change feed in the same statement:
    # WITH bumped AS (UPDATE customers ... RETURNING ...) SELECT pg_notify(...)
    writing = re.match(r"WITH \w+ AS \((UPDATE \w+)", text)
    if writing:
        return writing.group(1)
    verb = text.split(" ", 1)[0].upper()
    if verb == "SELECT":
        table = re.search(r" FROM (\w+)", text) or re.match(r"SELECT (\w+)\(", text)
        found = f"SELECT {table.group(1) if table else text}"
    elif verb == "INSERT":
        found = f"INSERT {text.split(' ')[2]}"
    elif verb == "UPDATE":
        found = f"UPDATE {text.split(' ')[1]}"
    else:
        found = text
    return found + (" FOR UPDATE" if " FOR UPDATE" in text else "")


async def shop_with_members(gql: GraphQLClient) -> Shop:
    """A site with three tiers and a customer with an account and a tier."""
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    for name, rank, threshold in (("Bronze", 1, 0), ("Silver", 2, 5000), ("Gold", 3, 20000)):
        body = await gql.execute(
            CREATE_TIER,
            {"input": {"siteId": shop.site_id, "name": name, "rank": rank,
                       "metric": "POINTS_EARNED", "threshold": threshold, "windowMonths": 12}},
            token=shop.admin,
        )  # fmt: skip
        assert body["data"]["createTier"]["userErrors"] == [], body
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)  # an account, and the first tier
    return shop


async def record_and_complete(
    shop: Shop, statements: StatementCounter, order_id: str
) -> tuple[list[str], list[str], int]:
    """The statements of recording a 3-line order (after a warm-up order: the offer index
    of this process is built once per offers version) and of completing it, and the
    number of offers the order used."""
    warm = await shop.record(f"warm-{order_id}", "ann", lines=LINES)
    assert warm["userErrors"] == [], warm
    with statements:
        recorded = await shop.record(order_id, "ann", lines=LINES)
    recording = [kind(s) for s in statements.statements]
    with statements:
        completed = await shop.step(COMPLETE_ORDER, order_id)
    completing = [kind(s) for s in statements.statements]
    assert recorded["userErrors"] == [], recorded
    assert recorded["order"]["pointsEarned"] > 0
    assert completed["userErrors"] == [], completed
    assert completed["order"]["status"] == "COMPLETED"
    return recording, completing, len(recorded["order"]["quote"]["appliedOffers"])


async def test_recording_and_completing_an_order_cost_the_same_at_1_and_50_offers(
    gql: GraphQLClient, db: Database, statements: StatementCounter
):
    # given: one promotion on the basket's three products
    shop = await shop_with_members(gql)
    await shop.offer(
        "PROMOTION", name="Basket 10%", valueType="PERCENT", value="10", scope="PRODUCT",
        targets=["sku-0", "sku-1", "sku-2"],
    )  # fmt: skip
    # when
    record_1, complete_1, used_1 = await record_and_complete(shop, statements, "o-1")
    # and given 49 more, half of them on the basket's products
    for n in range(49):
        await shop.offer(
            "PROMOTION", name=f"P{n}", valueType="PERCENT", value=str(5 + n % 10),
            scope="PRODUCT", targets=[f"sku-{n % 6}"],
        )  # fmt: skip
    record_50, complete_50, used_50 = await record_and_complete(shop, statements, "o-50")
    # then
    assert (used_1, used_50) == (1, 26)
    assert (record_1, complete_1) == (record_50, complete_50)
    postgres = not db.is_sqlite
    # one transaction (the API reads no site before it: the basket's prices are read in
    # the currency of the site the transaction reads)
    assert record_50 == [
        # PostgreSQL: calls for one order id queue here; SQLite: the write lock
        "SELECT pg_advisory_xact_lock" if postgres else "BEGIN IMMEDIATE",
        "SELECT orders",  # recorded before? (idempotent on the order id)
        "SELECT sites",  # the site (its currency prices the basket) and its customer
        # the account's lock, and the site's tiers (the earn multiplier, the upgrade)
        "SELECT point_accounts FOR UPDATE" if postgres else "SELECT point_accounts",
        "INSERT customer_days",  # the order's spend on its day (no tier counts spend:
        # no measures read for an upgrade)
        "INSERT ledger_entries",  # the pending points (inserted at once, no flush)
        "INSERT orders",  # with its ledger entry's id (the same)
        "INSERT order_lines",  # all lines
        "INSERT order_offers",  # every offer it used
        "UPDATE point_accounts",  # the account, once (the flush before the event)
        "INSERT outbox_events",  # ORDER_RECORDED
        "INSERT offer_customer_uses",  # the customer's uses of every offer
        # the uses of offers without a limit, on the order's shard of their counts (not
        # the offers' rows, which concurrent orders of the same products would queue for)
        "INSERT offer_use_counts",
        # the customer's read version, last (unlimited offers' counters leave the site's)
        "UPDATE customers",
    ], record_50
    assert complete_50 == [
        *([] if postgres else ["BEGIN IMMEDIATE"]),
        "SELECT orders FOR UPDATE" if postgres else "SELECT orders",
        "SELECT ledger_entries",  # the pending entry
        "SELECT sites",  # the site and the customer
        "SELECT point_accounts FOR UPDATE" if postgres else "SELECT point_accounts",  # +tiers
        # no referral read: the site gives no referral points and has no campaigns
        "SELECT ledger_entries",  # what reversals took of the pending points
        "INSERT ledger_entries",  # the activation
        "INSERT customer_days",  # the points earned today
        "UPDATE point_accounts",  # flushed with the lot
        "INSERT point_lots",
        "SELECT customer_days",  # the tier measures
        "INSERT outbox_events",  # ORDER_COMPLETED
        "UPDATE orders",
        "UPDATE customers",  # the customer's read version, last
    ], complete_50


CREATE_CAMPAIGN = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id } userErrors { field code message } }
}
"""
PUBLISH_CAMPAIGN = """
mutation($input: CampaignActionInput!) {
  publishCampaign(input: $input) { userErrors { field code message } }
}
"""


async def test_a_site_with_a_campaign_costs_the_campaigns_own_rows_and_no_more(
    gql: GraphQLClient, db: Database, statements: StatementCounter
):
    # given: the site above, with one promotion and one campaign (10 points an order)
    # whose budget is 1,000 points
    shop = await shop_with_members(gql)
    await shop.offer(
        "PROMOTION", name="Basket 10%", valueType="PERCENT", value="10", scope="PRODUCT",
        targets=["sku-0", "sku-1", "sku-2"],
    )  # fmt: skip
    body = await gql.execute(
        CREATE_CAMPAIGN,
        {"input": {"siteId": shop.site_id, "campaign": {
            "name": "Ten", "trigger": "ORDER", "effect": {"kind": "FIXED_POINTS", "points": 10},
            "limits": {"budgetPoints": 1000}}}},
        token=shop.admin,
    )  # fmt: skip
    campaign_id = body["data"]["createCampaign"]["campaign"]["id"]
    body = await gql.execute(
        PUBLISH_CAMPAIGN, {"input": {"campaignId": campaign_id}}, token=shop.admin
    )
    assert body["data"]["publishCampaign"]["userErrors"] == []
    # when
    recording, completing, _ = await record_and_complete(shop, statements, "o-1")
    # then: the order's statements, and the campaign's: its budget (locked on PostgreSQL,
    # after the offers, codes and vouchers), its entry, the award, its budget spent, its
    # event; the site's read version (a budget shows at checkout)
    postgres = not db.is_sqlite
    assert recording == [
        "SELECT pg_advisory_xact_lock" if postgres else "BEGIN IMMEDIATE",
        "SELECT orders",
        "SELECT sites",
        "SELECT point_accounts FOR UPDATE" if postgres else "SELECT point_accounts",
        "SELECT campaigns FOR UPDATE" if postgres else "SELECT campaigns",  # the budget
        "INSERT customer_days",
        "INSERT ledger_entries",  # the order's pending points
        "INSERT orders",
        "UPDATE campaigns",  # the budget spent, conditionally
        "INSERT ledger_entries",  # the campaign's pending points, an entry of its own
        "INSERT outbox_events",  # CAMPAIGN_POINTS_EARNED
        "INSERT order_lines",
        "INSERT order_offers",
        "INSERT campaign_awards",  # flushed with the order's rows
        "UPDATE point_accounts",  # once, with both entries (was once per entry)
        "INSERT outbox_events",  # ORDER_RECORDED
        "INSERT offer_customer_uses",
        "INSERT offer_use_counts",
        "UPDATE customers",
        "UPDATE sites",  # the site's read version: its campaign's budget moved
    ], "\n".join(recording)
    assert completing == [
        *([] if postgres else ["BEGIN IMMEDIATE"]),
        "SELECT orders FOR UPDATE" if postgres else "SELECT orders",
        "SELECT ledger_entries",
        "SELECT sites",
        "SELECT point_accounts FOR UPDATE" if postgres else "SELECT point_accounts",
        "SELECT referrals",
        "SELECT campaign_awards",  # the order's awards (campaign_points > 0)
        "SELECT ledger_entries",  # the award's pending entry
        "SELECT ledger_entries",  # what reversals took of it
        "INSERT ledger_entries",  # its activation
        "INSERT customer_days",
        "UPDATE point_accounts",  # flushed with the lot
        "INSERT point_lots",
        "SELECT customer_days",
        "SELECT ledger_entries",  # what reversals took of the order's pending points
        "INSERT ledger_entries",  # the order's activation
        "INSERT customer_days",
        "UPDATE campaign_awards",  # the award's activation entry (flushed with the lot)
        "UPDATE point_accounts",
        "INSERT point_lots",
        "SELECT customer_days",
        "INSERT outbox_events",  # ORDER_COMPLETED
        "UPDATE orders",
        "UPDATE customers",
    ], "\n".join(completing)


CUSTOMER_TIER = "query($id: ID!) { customer(id: $id) { tier { name } } }"


async def test_a_spend_tier_reads_the_measures_when_an_order_is_recorded_and_moves_at_once(
    gql: GraphQLClient, statements: StatementCounter
):
    # given: tiers by spend (Silver from 50.00 in 12 months); ann has spent 10.99 so far.
    # Order points stay pending until completion, but the spend counts at recording.
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    for name, rank, threshold in (("Bronze", 1, 0), ("Silver", 2, 5000)):
        body = await gql.execute(
            CREATE_TIER,
            {"input": {"siteId": shop.site_id, "name": name, "rank": rank,
                       "metric": "AMOUNT_SPENT", "threshold": threshold, "windowMonths": 12}},
            token=shop.admin,
        )  # fmt: skip
        assert body["data"]["createTier"]["userErrors"] == [], body
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    first = await shop.record("o-0", "ann", lines=[line("sku-0", 1, "10.99")])
    assert first["userErrors"] == [], first
    # when: an order of 43.96 brings the spend to 54.95
    with statements:
        recorded = await shop.record("o-1", "ann", lines=[line("sku-1", 4, "10.99")])
    found = [kind(s) for s in statements.statements]
    # then: the measures are read after the day's spend (spend tiers count it), and ann
    # is Silver before the order completes
    assert recorded["userErrors"] == [], recorded
    day = found.index("INSERT customer_days")
    assert found[day + 1] == "SELECT customer_days", found
    body = await gql.execute(CUSTOMER_TIER, {"id": shop.customers["ann"]}, token=shop.admin)
    assert body["data"]["customer"]["tier"] == {"name": "Silver"}
