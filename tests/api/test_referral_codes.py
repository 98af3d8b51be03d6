"""Referral codes through the API: a friend registers or enrols with a customer's code,
is linked once, gets the welcome voucher, and the referrer earns when the friend's first
order completes; every guard refuses the whole mutation with its own code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, ReferralRow, VoucherRow
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, COMPLETE_ORDER
from tests.support.shop import Shop, line

REFERRAL_POINTS = 300

REGISTER = """
mutation($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    customer { id externalId enrolled referral { code referredCount pointsEarned } }
    userErrors { field code message }
  }
}
"""
ENROLL = """
mutation($input: EnrollmentInput!) {
  enrollCustomer(input: $input) { customer { id enrolled } userErrors { field code message } }
}
"""
REFERRAL = """
query($id: ID!) {
  customer(id: $id) {
    referral { code referredCount pointsEarned }
    balance { available }
    vouchers { code status pointsSpent percentOff }
  }
}
"""
VIEWER = "{ viewer { referral { code referredCount pointsEarned } } }"


async def _shop(gql: GraphQLClient, **settings: Any) -> Shop:
    return await Shop.open(gql, referralPoints=REFERRAL_POINTS, orderPointsPending=True,
                           **settings)  # fmt: skip


async def _register(shop: Shop, external_id: str, **fields: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        REGISTER,
        {"input": {"siteId": shop.site_id, "externalId": external_id, **fields}},
        token=shop.service,
    )
    payload: dict[str, Any] = body["data"]["registerCustomer"]
    if payload["customer"] is not None:
        shop.customers[external_id] = payload["customer"]["id"]
    return payload


async def _referrer(shop: Shop, external_id: str = "ann", **fields: Any) -> str:
    """An enrolled customer; their referral code."""
    payload = await _register(shop, external_id, enroll=True, **fields)
    assert payload["userErrors"] == [], payload
    code: str = payload["customer"]["referral"]["code"]
    return code


async def _read(shop: Shop, external_id: str) -> dict[str, Any]:
    body = await shop.gql.execute(REFERRAL, {"id": shop.customers[external_id]}, token=shop.admin)
    customer: dict[str, Any] = body["data"]["customer"]
    return customer


async def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def _count(db: Database, model: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_from_code_to_welcome_voucher_to_the_referrers_points(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: a welcome coupon, and ann's code
    shop = await _shop(gql)
    welcome = await shop.offer("COUPON", name="Welcome 10%", valueType="PERCENT", value="10")
    await shop.configure(referralWelcomeOfferId=welcome)
    code = await _referrer(shop)
    assert len(code) == 8
    # when: bob registers with it, typed in lower case
    payload = await _register(shop, "bob", enroll=True, referralCode=f" {code.lower()} ")
    # then: linked, and bob has the welcome voucher, free
    assert payload["userErrors"] == []
    bob = await _read(shop, "bob")
    assert [(v["status"], v["pointsSpent"], v["percentOff"]) for v in bob["vouchers"]] == [
        ("ACTIVE", 0, "10")
    ]
    ann = await _read(shop, "ann")
    assert ann["referral"] == {"code": code, "referredCount": 1, "pointsEarned": 0}
    # when: bob's first order is recorded (pending), then completed
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    assert (await _read(shop, "ann"))["balance"]["available"] == 0
    completed = await shop.step(COMPLETE_ORDER, "o-1")
    assert completed["userErrors"] == []
    # then: ann earned the site's referral points, and sees them as hers
    ann = await _read(shop, "ann")
    assert ann["balance"]["available"] == REFERRAL_POINTS
    body = await gql.execute(VIEWER, token=shop.customer("ann"))
    assert body["data"]["viewer"]["referral"] == {
        "code": code, "referredCount": 1, "pointsEarned": REFERRAL_POINTS,
    }  # fmt: skip
    # when: the order is cancelled, the referral points are taken back (net: 0)
    cancelled = await shop.step(CANCEL_ORDER, "o-1")
    assert cancelled["userErrors"] == []
    ann = await _read(shop, "ann")
    assert ann["referral"]["pointsEarned"] == 0
    assert ann["balance"]["available"] == 0
    assert await verify_ledger(db) == []


async def test_without_a_welcome_offer_the_friend_is_linked_without_a_voucher(
    gql: GraphQLClient, db: Database
) -> None:
    shop = await _shop(gql)
    code = await _referrer(shop)
    payload = await _register(shop, "bob", referralCode=code)
    assert payload["userErrors"] == []
    assert (await _read(shop, "bob"))["vouchers"] == []
    assert (await _read(shop, "ann"))["referral"]["referredCount"] == 1
    assert await verify_ledger(db) == []


async def test_enrolling_with_a_code_links_the_customer(gql: GraphQLClient, db: Database) -> None:
    # given: bob registered, not enrolled
    shop = await _shop(gql)
    welcome = await shop.offer("REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5",
                               loyaltyPrice=100)  # fmt: skip
    await shop.configure(referralWelcomeOfferId=welcome)
    code = await _referrer(shop)
    await _register(shop, "bob")
    # when: bob enrols himself with ann's code
    body = await gql.execute(ENROLL, {"input": {"referralCode": code}}, token=shop.customer("bob"))
    # then
    assert body["data"]["enrollCustomer"]["userErrors"] == []
    assert body["data"]["enrollCustomer"]["customer"]["enrolled"] is True
    assert [v["pointsSpent"] for v in (await _read(shop, "bob"))["vouchers"]] == [0]
    assert (await _read(shop, "ann"))["referral"]["referredCount"] == 1
    assert await verify_ledger(db) == []


async def test_an_unknown_code_refuses_the_registration_and_writes_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    shop = await _shop(gql)
    await _referrer(shop)
    customers_before = await _count(db, CustomerRow)
    for typed in ("ZZZZZZZZ", "short", "0" * 50):
        payload = await _register(shop, "bob", enroll=True, referralCode=typed)
        assert payload["customer"] is None
        assert payload["userErrors"] == [
            {"field": ["input", "referralCode"], "code": "REFERRAL_CODE_NOT_FOUND",
             "message": "no customer of this site has that code"},
        ]  # fmt: skip
    assert await _count(db, CustomerRow) == customers_before
    assert await _count(db, ReferralRow) == 0


async def test_a_code_of_another_site_or_of_a_customer_not_enrolled_is_not_found(
    gql: GraphQLClient,
) -> None:
    shop = await _shop(gql)
    other = await Shop.open(gql, "shop-b")
    elsewhere = await _referrer(other, "zed")
    payload = await _register(shop, "ann")
    not_enrolled = payload["customer"]["referral"]["code"]
    for code in (elsewhere, not_enrolled):
        payload = await _register(shop, "bob", referralCode=code)
        assert await _codes(payload) == ["REFERRAL_CODE_NOT_FOUND"]


async def test_self_referral_by_the_same_customer_or_the_same_email_is_refused(
    gql: GraphQLClient, db: Database
) -> None:
    shop = await _shop(gql)
    code = await _referrer(shop, email="ann@example.com")
    # the same registration sent again with her own code
    again = await _register(shop, "ann", enroll=True, email="ann@example.com", referralCode=code)
    # a second account with her e-mail, spelled otherwise
    twin = await _register(shop, "ann-2", email="ANN@Example.com", referralCode=code)
    assert await _codes(again) == ["SELF_REFERRAL"]
    assert await _codes(twin) == ["SELF_REFERRAL"]
    assert twin["customer"] is None
    assert await _count(db, CustomerRow) == 1
    assert await _count(db, ReferralRow) == 0


async def test_a_customer_already_referred_cannot_be_referred_again(
    gql: GraphQLClient, db: Database
) -> None:
    # given: bob registered (not enrolled) with ann's code
    shop = await _shop(gql)
    ann = await _referrer(shop, "ann")
    cid = await _referrer(shop, "cid")
    assert (await _register(shop, "bob", referralCode=ann))["userErrors"] == []
    # when: bob enrols with cid's code
    body = await gql.execute(ENROLL, {"input": {"referralCode": cid}}, token=shop.customer("bob"))
    # then: refused, and bob is still not enrolled
    payload = body["data"]["enrollCustomer"]
    assert await _codes(payload) == ["ALREADY_REFERRED"]
    assert payload["customer"] is None
    assert (await _read(shop, "cid"))["referral"]["referredCount"] == 0
    body = await gql.execute("{ viewer { enrolled } }", token=shop.customer("bob"))
    assert body["data"]["viewer"]["enrolled"] is False
    # and: the same registration with ann's code again is the same link, made once
    again = await _register(shop, "bob", referralCode=ann)
    assert again["userErrors"] == []
    assert await _count(db, ReferralRow) == 1


async def test_a_friend_with_earlier_orders_cannot_be_referred(gql: GraphQLClient) -> None:
    # given: bob, registered but not enrolled, already ordered
    shop = await _shop(gql)
    code = await _referrer(shop)
    await _register(shop, "bob")
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    # when
    body = await gql.execute(ENROLL, {"input": {"referralCode": code}}, token=shop.customer("bob"))
    # then
    assert await _codes(body["data"]["enrollCustomer"]) == ["REFERRAL_NOT_NEW_CUSTOMER"]
    assert (await _read(shop, "ann"))["referral"]["referredCount"] == 0


async def test_the_monthly_cap_counts_in_the_sites_timezone(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: 2 friends a month, in Auckland (UTC+13 in January)
    shop = await _shop(gql, referralMonthlyCap=2, timezone="Pacific/Auckland")
    welcome = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="5")
    await shop.configure(referralWelcomeOfferId=welcome)
    clock.now = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # 31 January, 23:00 there
    code = await _referrer(shop)
    # when: three friends on 31 January, a fourth when February has begun there
    first = await _register(shop, "f-1", referralCode=code)
    second = await _register(shop, "f-2", referralCode=code)
    third = await _register(shop, "f-3", referralCode=code)
    clock.now = datetime(2026, 1, 31, 11, 30, tzinfo=UTC)  # 1 February, 00:30 there
    fourth = await _register(shop, "f-4", referralCode=code)
    # then
    assert [await _codes(p) for p in (first, second, third, fourth)] == [
        [], [], ["REFERRAL_CAP_REACHED"], []
    ]  # fmt: skip
    assert third["customer"] is None
    assert (await _read(shop, "ann"))["referral"]["referredCount"] == 3
    assert await _count(db, VoucherRow) == 3
    assert await _count(db, CustomerRow) == 4


async def test_a_retry_with_the_same_key_links_and_gives_the_voucher_once(
    gql: GraphQLClient, db: Database
) -> None:
    shop = await _shop(gql)
    welcome = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="5")
    await shop.configure(referralWelcomeOfferId=welcome)
    code = await _referrer(shop)
    first = await _register(shop, "bob", referralCode=code, idempotencyKey="k-1")
    retried = await _register(shop, "bob", referralCode=code, idempotencyKey="k-1")
    other = await _register(shop, "bob", referralCode="ZZZZZZZZ", idempotencyKey="k-1")
    assert first["userErrors"] == retried["userErrors"] == []
    assert first["customer"]["id"] == retried["customer"]["id"]
    assert await _codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await _count(db, ReferralRow) == 1
    assert await _count(db, VoucherRow) == 1


async def test_the_welcome_offer_must_be_a_reward_or_coupon_of_the_site(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    promotion = await shop.offer("PROMOTION", name="All 2%", valueType="PERCENT", value="2")
    other = await Shop.open(gql, "shop-b")
    elsewhere = await other.offer("COUPON", name="Theirs", valueType="PERCENT", value="5")
    answers = []
    for offer in (promotion, elsewhere):
        body = await gql.execute(
            "mutation($input: ConfigureProgramInput!) { configureProgram(input: $input) "
            "{ program { referralWelcomeOfferId } userErrors { field code } } }",
            {"input": {"siteId": shop.site_id, "referralWelcomeOfferId": offer}},
            token=shop.admin,
        )
        answers.append(body["data"]["configureProgram"]["userErrors"])
    assert answers == [
        [{"field": ["input", "referralWelcomeOfferId"], "code": "INVALID_VALUE"}],
        [{"field": ["input", "referralWelcomeOfferId"], "code": "NOT_FOUND"}],
    ]


async def test_the_cap_must_be_positive_and_null_clears_it(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    mutation = (
        "mutation($input: ConfigureProgramInput!) { configureProgram(input: $input) "
        "{ program { referralMonthlyCap } userErrors { field code } } }"
    )
    answers = []
    for cap in (0, 5, None):
        body = await gql.execute(
            mutation, {"input": {"siteId": shop.site_id, "referralMonthlyCap": cap}},
            token=shop.admin,
        )  # fmt: skip
        answers.append(body["data"]["configureProgram"])
    assert answers == [
        {"program": None,
         "userErrors": [{"field": ["input", "referralMonthlyCap"], "code": "INVALID_VALUE"}]},
        {"program": {"referralMonthlyCap": 5}, "userErrors": []},
        {"program": {"referralMonthlyCap": None}, "userErrors": []},
    ]  # fmt: skip


async def test_leave_program_takes_no_referral_code(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    await _referrer(shop)
    body = await gql.execute(
        "mutation($input: EnrollmentInput!) { leaveProgram(input: $input) "
        "{ userErrors { field code } } }",
        {"input": {"referralCode": "ABCDEFGH"}},
        token=shop.customer("ann"),
    )
    assert body["data"]["leaveProgram"]["userErrors"] == [
        {"field": ["input", "referralCode"], "code": "INVALID_VALUE"}
    ]


async def test_a_welcome_offer_no_longer_published_gives_no_voucher(
    gql: GraphQLClient, db: Database
) -> None:
    # given: the welcome coupon unpublished after it was configured
    shop = await _shop(gql)
    welcome = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="5")
    await shop.configure(referralWelcomeOfferId=welcome)
    await shop.act("unpublishOffer", welcome)
    code = await _referrer(shop)
    # when
    payload = await _register(shop, "bob", referralCode=code)
    # then: linked, without a voucher
    assert payload["userErrors"] == []
    assert (await _read(shop, "bob"))["vouchers"] == []
    assert await _count(db, ReferralRow) == 1


async def test_a_used_up_welcome_offer_gives_no_more_vouchers(
    gql: GraphQLClient, db: Database
) -> None:
    shop = await _shop(gql)
    welcome = await shop.offer("COUPON", name="Welcome", valueType="PERCENT", value="5",
                               maxUses=1)  # fmt: skip
    await shop.configure(referralWelcomeOfferId=welcome)
    code = await _referrer(shop)
    for friend in ("bob", "cid"):
        assert (await _register(shop, friend, referralCode=code))["userErrors"] == []
    assert [len((await _read(shop, f))["vouchers"]) for f in ("bob", "cid")] == [1, 0]
    assert await _count(db, ReferralRow) == 2


async def test_no_referral_while_the_program_is_switched_off(gql: GraphQLClient) -> None:
    shop = await _shop(gql)
    code = await _referrer(shop)
    await shop.configure(enabled=False)
    payload = await _register(shop, "bob", referralCode=code)
    assert await _codes(payload) == ["PROGRAM_DISABLED"]
    assert payload["customer"] is None


CUSTOMERS = """
query($s: ID!, $n: Int) {
  customers(siteId: $s, first: $n) {
    edges { node { referral { code referredCount pointsEarned } birthDate { month day } } }
  }
}
"""


async def test_the_referrals_of_a_page_of_customers_cost_one_query_per_field(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    # given: 12 customers, each referred by the one before
    shop = await _shop(gql)
    code = await _referrer(shop, "c-00")
    for n in range(1, 12):
        payload = await _register(shop, f"c-{n:02}", enroll=True, referralCode=code)
        assert payload["userErrors"] == []
        code = payload["customer"]["referral"]["code"]
    await gql.execute(CUSTOMERS, {"s": shop.site_id, "n": 1}, token=shop.admin)  # warm caches
    # when
    with statements:
        body = await gql.execute(CUSTOMERS, {"s": shop.site_id, "n": 12}, token=shop.admin)
    # then: the page, then friends and points of all its customers in one query each
    counts = [e["node"]["referral"]["referredCount"] for e in body["data"]["customers"]["edges"]]
    assert counts == [1] * 11 + [0]
    selects = [s for s in statements.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, selects
    assert "FROM customers" in selects[0]
    assert {"referrals" in s or "ledger_entries" in s for s in selects[1:]} == {True}


async def test_a_blank_code_is_no_code(gql: GraphQLClient, db: Database) -> None:
    shop = await _shop(gql)
    await _referrer(shop)
    payload = await _register(shop, "bob", enroll=True, referralCode="  ")
    assert payload["userErrors"] == []
    assert await _count(db, ReferralRow) == 0
