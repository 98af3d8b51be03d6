"""recordActivity: built-in and custom activities, their limits, and referrals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM
from tests.support.shop import Shop, line, register

RECORD_ACTIVITY = """
mutation Record($input: RecordActivityInput!) {
  recordActivity(input: $input) {
    entry {
      id kind points balanceAfter createdAt
      source { type reference activityCode }
    }
    customer { id balance { available } }
    userErrors { field code message }
  }
}
"""

LEDGER = """
query Ledger($id: ID!) {
  customer(id: $id) { ledger { edges { node { points source { activityCode reference } } } } }
}
"""

ACTIVITIES: dict[str, Any] = {
    "newsletterSignupPoints": 50,
    "productReviewPoints": 20,
    "referralPoints": 300,
    "customActivities": [
        {"code": "APP_INSTALL", "name": "Installed the app", "points": 30, "dailyCap": 2},
        {"code": "BIRTHDAY", "name": "Birthday", "points": 100},
    ],
}


async def _shop(gql: GraphQLClient, code: str = "shop-a", **settings: Any) -> str:
    """A site with its program on, every registered customer enrolled, and activities."""
    changes = {"participation": "ALL_REGISTERED_CUSTOMERS", **ACTIVITIES, **settings}
    return (await Shop.open(gql, code, **changes)).site_id


async def _record(
    gql: GraphQLClient, customer_id: str, activity: str, *, site: str = "shop-a", **extra: Any
) -> dict[str, Any]:
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": customer_id, "activity": activity, **extra}},
        token=gql.token("service", site),
    )
    payload: dict[str, Any] = body["data"]["recordActivity"]
    return payload


async def _ledger(gql: GraphQLClient, customer_id: str) -> list[tuple[int, str | None]]:
    """(points, activity code) of the customer's entries, newest first."""
    body = await gql.execute(LEDGER, {"id": customer_id}, token=gql.token("admin", "shop-a"))
    return [
        (edge["node"]["points"], edge["node"]["source"]["activityCode"])
        for edge in body["data"]["customer"]["ledger"]["edges"]
    ]


def _refused(field: list[str], code: str, message: str) -> dict[str, Any]:
    return {
        "entry": None,
        "customer": None,
        "userErrors": [{"field": field, "code": code, "message": message}],
    }


# built-in activities


async def test_the_newsletter_sign_up_earns_once_per_customer(gql: GraphQLClient, clock: Clock):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    first = await _record(gql, customer["id"], "NEWSLETTER_SIGNUP")
    second = await _record(gql, customer["id"], " newsletter_signup ")
    # then
    assert first == {
        "entry": {
            "id": first["entry"]["id"],
            "kind": "EARNED",
            "points": 50,
            "balanceAfter": 50,
            "createdAt": clock.now.isoformat(),
            "source": {"type": "ACTIVITY", "reference": None, "activityCode": "NEWSLETTER_SIGNUP"},
        },
        "customer": {"id": customer["id"], "balance": {"available": 50}},
        "userErrors": [],
    }
    assert second == _refused(
        ["input", "activity"],
        "ACTIVITY_ALREADY_REWARDED",
        "NEWSLETTER_SIGNUP was already rewarded for this customer",
    )
    assert await _ledger(gql, customer["id"]) == [(50, "NEWSLETTER_SIGNUP")]


async def test_each_customer_earns_their_own_newsletter_sign_up(gql: GraphQLClient):
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    await _record(gql, ann["id"], "NEWSLETTER_SIGNUP")
    payload = await _record(gql, bob["id"], "NEWSLETTER_SIGNUP")
    assert payload["userErrors"] == []
    assert payload["customer"]["balance"] == {"available": 50}


async def test_a_product_review_earns_once_per_product(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    first = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference="sku-1")
    again = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference=" sku-1 ")
    other = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference="sku-2")
    # then
    assert first["entry"]["source"] == {
        "type": "ACTIVITY",
        "reference": "sku-1",
        "activityCode": "PRODUCT_REVIEW",
    }
    assert again == _refused(
        ["input", "reference"],
        "ACTIVITY_ALREADY_REWARDED",
        "a review of this product was already rewarded",
    )
    assert other["entry"]["source"]["reference"] == "sku-2"
    assert other["customer"]["balance"] == {"available": 40}
    assert await _ledger(gql, customer["id"]) == [(20, "PRODUCT_REVIEW"), (20, "PRODUCT_REVIEW")]


async def test_a_product_review_needs_the_product(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    missing = await _record(gql, customer["id"], "PRODUCT_REVIEW")
    blank = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference="  ")
    for payload in (missing, blank):
        assert payload == _refused(
            ["input", "reference"], "REQUIRED", "name the reviewed product in reference"
        )
    assert await _ledger(gql, customer["id"]) == []


# custom activities


async def test_a_custom_activity_earns_up_to_its_daily_cap_then_again_the_next_day(
    gql: GraphQLClient, clock: Clock
):
    # given: APP_INSTALL earns 30 points at most twice a day
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    clock.now = clock.now.replace(hour=23, minute=0)
    await _record(gql, customer["id"], "APP_INSTALL")
    await _record(gql, customer["id"], "APP_INSTALL")
    # when
    capped = await _record(gql, customer["id"], "APP_INSTALL")
    clock.now += timedelta(hours=1, minutes=1)
    next_day = await _record(gql, customer["id"], "APP_INSTALL")
    # then
    assert capped == _refused(
        ["input", "activity"], "DAILY_CAP_REACHED", "APP_INSTALL earns points at most 2 times a day"
    )
    assert next_day["entry"]["points"] == 30
    assert next_day["customer"]["balance"] == {"available": 90}
    assert await _ledger(gql, customer["id"]) == [(30, "APP_INSTALL")] * 3


async def test_a_custom_activity_without_a_cap_earns_every_time(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    for _ in range(3):
        payload = await _record(gql, customer["id"], "BIRTHDAY")
        assert payload["userErrors"] == []
    assert payload["customer"]["balance"] == {"available": 300}


async def test_the_daily_cap_counts_each_customer_apart(gql: GraphQLClient):
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    await _record(gql, ann["id"], "APP_INSTALL")
    await _record(gql, ann["id"], "APP_INSTALL")
    payload = await _record(gql, bob["id"], "APP_INSTALL")
    assert payload["userErrors"] == []


async def test_an_activity_the_site_does_not_define_is_not_configured(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    payload = await _record(gql, customer["id"], "DANCING")
    assert payload == _refused(
        ["input", "activity"], "ACTIVITY_NOT_CONFIGURED", "DANCING is not an activity of this site"
    )


async def test_an_activity_worth_no_points_is_not_configured(gql: GraphQLClient):
    # given: the site gives nothing for sign-ups, reviews and referrals
    site_id = await _shop(gql, newsletterSignupPoints=0, productReviewPoints=0, referralPoints=0)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    # when
    signup = await _record(gql, ann["id"], "NEWSLETTER_SIGNUP")
    review = await _record(gql, ann["id"], "PRODUCT_REVIEW", reference="sku-1")
    referral = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=bob["id"])
    # then
    assert signup == _refused(
        ["input", "activity"],
        "ACTIVITY_NOT_CONFIGURED",
        "NEWSLETTER_SIGNUP earns no points on this site",
    )
    assert review == _refused(
        ["input", "activity"],
        "ACTIVITY_NOT_CONFIGURED",
        "PRODUCT_REVIEW earns no points on this site",
    )
    assert referral == _refused(
        ["input", "activity"], "ACTIVITY_NOT_CONFIGURED", "referrals earn no points on this site"
    )
    assert await _ledger(gql, ann["id"]) == []


# who may earn


async def test_a_customer_who_is_not_enrolled_earns_nothing(gql: GraphQLClient):
    site_id = await _shop(gql, participation="ENROLLED_CUSTOMERS")
    customer = await register(gql, "shop-a", site_id, "c-1")
    payload = await _record(gql, customer["id"], "BIRTHDAY")
    assert payload == _refused(
        ["input", "customerId"], "NOT_ENROLLED", "the customer is not enrolled in the program"
    )
    assert await _ledger(gql, customer["id"]) == []


async def test_nothing_is_earned_while_the_program_is_switched_off(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "enabled": False}},
        token=gql.token("admin", "shop-a"),
    )
    # when
    payload = await _record(gql, customer["id"], "NEWSLETTER_SIGNUP")
    # then
    assert payload == _refused(
        [], "PROGRAM_DISABLED", "the loyalty program of this site is switched off"
    )
    assert await _ledger(gql, customer["id"]) == []


async def test_a_customer_of_another_site_is_not_found(gql: GraphQLClient):
    # given
    await _shop(gql, "shop-a")
    site_b = await _shop(gql, "shop-b")
    stranger = await register(gql, "shop-b", site_b, "c-1")
    # when
    payload = await _record(gql, stranger["id"], "BIRTHDAY", site="shop-a")
    # then
    assert payload == _refused(["input", "customerId"], "NOT_FOUND", "no such customer")


async def test_customers_cannot_record_their_own_activities(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": customer["id"], "activity": "BIRTHDAY"}},
        token=gql.token("customer", "shop-a", subject="c-1"),
        expect_errors=True,
    )
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await _ledger(gql, customer["id"]) == []


# retries


async def test_a_retry_with_the_same_key_returns_the_same_entry_and_writes_one(
    gql: GraphQLClient, clock: Clock
):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    first = await _record(gql, customer["id"], "BIRTHDAY", idempotencyKey="bday-2026")
    clock.now += timedelta(seconds=30)
    second = await _record(gql, customer["id"], "BIRTHDAY", idempotencyKey="bday-2026")
    # then
    assert first["userErrors"] == []
    assert second == first
    assert await _ledger(gql, customer["id"]) == [(100, "BIRTHDAY")]


async def test_a_retry_of_a_once_only_activity_replays_instead_of_refusing(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    first = await _record(gql, customer["id"], "NEWSLETTER_SIGNUP", idempotencyKey="nl-1")
    # when
    retry = await _record(gql, customer["id"], "NEWSLETTER_SIGNUP", idempotencyKey="nl-1")
    # then
    assert retry == first
    assert retry["entry"]["points"] == 50


async def test_a_retry_after_the_daily_cap_was_reached_replays_the_entry(gql: GraphQLClient):
    # given: the first of the two capped installs is retried once the cap is reached
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    first = await _record(gql, customer["id"], "APP_INSTALL", idempotencyKey="install-1")
    await _record(gql, customer["id"], "APP_INSTALL", idempotencyKey="install-2")
    # when
    retry = await _record(gql, customer["id"], "APP_INSTALL", idempotencyKey="install-1")
    # then
    assert retry == {**first, "customer": {"id": customer["id"], "balance": {"available": 60}}}
    assert await _ledger(gql, customer["id"]) == [(30, "APP_INSTALL")] * 2


async def test_an_activity_key_reused_for_another_activity_is_refused(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    await _record(gql, customer["id"], "BIRTHDAY", idempotencyKey="k-1")
    payload = await _record(gql, customer["id"], "APP_INSTALL", idempotencyKey="k-1")
    assert payload == _refused(
        ["input", "idempotencyKey"],
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was already used with a different request",
    )
    assert await _ledger(gql, customer["id"]) == [(100, "BIRTHDAY")]


# referrals


async def test_a_referral_is_recorded_without_points_until_the_friend_orders(
    gql: GraphQLClient,
):
    # given
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    # when
    payload = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=bob["id"])
    # then
    assert payload == {
        "entry": None,
        "customer": {"id": ann["id"], "balance": {"available": 0}},
        "userErrors": [],
    }
    assert await _ledger(gql, ann["id"]) == []


async def test_customers_cannot_refer_themselves(gql: GraphQLClient):
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    payload = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=ann["id"])
    assert payload == _refused(
        ["input", "referredCustomerId"], "SELF_REFERRAL", "customers cannot refer themselves"
    )


async def test_a_customer_is_referred_only_once(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    ann = await register(gql, "shop-a", site_id, "ann")
    bob = await register(gql, "shop-a", site_id, "bob")
    cat = await register(gql, "shop-a", site_id, "cat")
    await _record(gql, ann["id"], "REFERRAL", referredCustomerId=bob["id"])
    # when
    by_other = await _record(gql, cat["id"], "REFERRAL", referredCustomerId=bob["id"])
    again = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=bob["id"])
    # then
    for payload in (by_other, again):
        assert payload == _refused(
            ["input", "referredCustomerId"],
            "ACTIVITY_ALREADY_REWARDED",
            "this customer was already referred",
        )


async def test_a_recorded_referral_passes_the_same_guards_as_a_referral_code(
    gql: GraphQLClient,
):
    # given: at most one friend a month per referrer; ann, her second account with her
    # e-mail, bob who already ordered, and two new customers
    shop = await Shop.open(
        gql, participation="ALL_REGISTERED_CUSTOMERS", referralMonthlyCap=1, **ACTIVITIES
    )
    ann = await register(gql, "shop-a", shop.site_id, "ann", email="ann@example.com")
    ann_2 = await register(gql, "shop-a", shop.site_id, "ann-2", email="ANN@example.com")
    bob = await register(gql, "shop-a", shop.site_id, "bob")
    shop.customers["bob"] = bob["id"]
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "10.00")])
    assert recorded["userErrors"] == []
    cat = await register(gql, "shop-a", shop.site_id, "cat")
    dan = await register(gql, "shop-a", shop.site_id, "dan")
    # when
    same_email = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=ann_2["id"])
    ordered = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=bob["id"])
    first = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=cat["id"])
    over_cap = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=dan["id"])
    # then: each refusal with its own code; the one friend within the cap is linked
    field = ["input", "referredCustomerId"]
    assert same_email == _refused(field, "SELF_REFERRAL", "customers cannot refer themselves")
    assert ordered == _refused(
        field, "REFERRAL_NOT_NEW_CUSTOMER", "only customers without earlier orders can be referred"
    )
    assert first["userErrors"] == []
    assert over_cap == _refused(
        field,
        "REFERRAL_CAP_REACHED",
        "this referrer has brought 1 friends this month, the most allowed",
    )


async def test_a_referral_names_a_customer_of_the_same_site(gql: GraphQLClient):
    # given
    site_a = await _shop(gql, "shop-a")
    site_b = await _shop(gql, "shop-b")
    ann = await register(gql, "shop-a", site_a, "ann")
    stranger = await register(gql, "shop-b", site_b, "bob")
    # when
    missing = await _record(gql, ann["id"], "REFERRAL")
    elsewhere = await _record(gql, ann["id"], "REFERRAL", referredCustomerId=stranger["id"])
    # then
    assert missing == _refused(
        ["input", "referredCustomerId"], "REQUIRED", "name the referred customer"
    )
    assert elsewhere == _refused(["input", "referredCustomerId"], "NOT_FOUND", "no such customer")


async def test_a_too_long_product_reference_is_invalid_on_every_backend(gql: GraphQLClient):
    # given
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when: source references are stored in 200 characters
    payload = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference="p" * 201)
    # then
    assert payload["entry"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "reference"], "INVALID_VALUE")
    ]
    assert await _ledger(gql, customer["id"]) == []


async def test_a_200_character_reference_and_key_fit(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    payload = await _record(
        gql, customer["id"], "PRODUCT_REVIEW", reference="p" * 200, idempotencyKey="k" * 200
    )
    assert payload["userErrors"] == []
    again = await _record(gql, customer["id"], "PRODUCT_REVIEW", reference="p" * 200)
    assert [e["code"] for e in again["userErrors"]] == ["ACTIVITY_ALREADY_REWARDED"]


async def test_an_empty_activity_code_is_required(gql: GraphQLClient):
    site_id = await _shop(gql)
    customer = await register(gql, "shop-a", site_id, "c-1")
    payload = await _record(gql, customer["id"], "  ")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "activity"], "REQUIRED")
    ]
