"""Birth dates: given at registration, changed by staff and by the customer, read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop

REGISTER = """
mutation($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    customer { id birthDate { month day year } }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { birthDate { month day year } }
    userErrors { field code message }
  }
}
"""
UPDATE_MINE = """
mutation($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) {
    customer { birthDate { month day year } }
    userErrors { field code message }
  }
}
"""
VIEWER = "{ viewer { birthDate { month day year } } }"


async def _register(shop: Shop, external_id: str, **fields: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        REGISTER,
        {"input": {"siteId": shop.site_id, "externalId": external_id, **fields}},
        token=shop.service,
    )
    payload: dict[str, Any] = body["data"]["registerCustomer"]
    return payload


async def test_a_birth_date_given_at_registration_reads_back(gql: GraphQLClient) -> None:
    shop = await Shop.open(gql)
    leap = await _register(shop, "ann", birthDate={"month": 2, "day": 29})
    full = await _register(shop, "bob", birthDate={"month": 12, "day": 24, "year": 1990})
    none = await _register(shop, "cid")
    assert leap["customer"]["birthDate"] == {"month": 2, "day": 29, "year": None}
    assert full["customer"]["birthDate"] == {"month": 12, "day": 24, "year": 1990}
    assert none["customer"]["birthDate"] is None
    body = await gql.execute(VIEWER, token=shop.customer("ann"))
    assert body["data"]["viewer"]["birthDate"] == {"month": 2, "day": 29, "year": None}


async def test_dates_that_do_not_exist_are_refused(gql: GraphQLClient) -> None:
    shop = await Shop.open(gql)
    answers = []
    for birth in (
        {"month": 2, "day": 30},
        {"month": 2, "day": 29, "year": 2001},
        {"month": 13, "day": 1},
        {"month": 4, "day": 31},
        {"month": 1, "day": 0},
        {"month": 1, "day": 1, "year": 1800},
    ):
        payload = await _register(shop, "ann", birthDate=birth)
        answers.append([(e["field"], e["code"]) for e in payload["userErrors"]])
    assert answers == [
        [(["input", "birthDate", "day"], "INVALID_VALUE")],
        [(["input", "birthDate", "day"], "INVALID_VALUE")],
        [(["input", "birthDate", "month"], "INVALID_VALUE")],
        [(["input", "birthDate", "day"], "INVALID_VALUE")],
        [(["input", "birthDate", "day"], "INVALID_VALUE")],
        [(["input", "birthDate", "year"], "INVALID_VALUE")],
    ]


async def test_a_birth_date_after_today_anywhere_is_refused(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given: it is 15 January 2026, 12:00 UTC (already the 16th east of UTC+12)
    assert clock.now == datetime(2026, 1, 15, 12, tzinfo=UTC)
    shop = await Shop.open(gql)
    await shop.register("ann")
    token = shop.customer("ann")
    # when: a registration, the staff and the customer give a date still to come
    future = {"month": 1, "day": 17, "year": 2026}
    registered = await _register(shop, "bob", birthDate=future)
    staff = await gql.execute(
        UPDATE, {"input": {"customerId": shop.customers["ann"], "birthDate": future}},
        token=shop.admin,
    )  # fmt: skip
    mine = await gql.execute(
        UPDATE_MINE, {"input": {"birthDate": {"month": 1, "day": 1, "year": 2027}}}, token=token
    )
    # then: each is refused at the year, nothing written
    for payload in (
        registered, staff["data"]["updateCustomer"], mine["data"]["updateMyProfile"]
    ):  # fmt: skip
        assert payload["customer"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "birthDate", "year"], "INVALID_VALUE")
        ]
    assert (await gql.execute(VIEWER, token=token))["data"]["viewer"]["birthDate"] is None
    # and today somewhere (the 16th in Kiribati), or without a year, is a birth date
    for birth in ({"month": 1, "day": 16, "year": 2026}, {"month": 12, "day": 31}):
        body = await gql.execute(UPDATE_MINE, {"input": {"birthDate": birth}}, token=token)
        assert body["data"]["updateMyProfile"]["userErrors"] == []


async def test_staff_set_and_clear_a_birth_date(gql: GraphQLClient) -> None:
    shop = await Shop.open(gql)
    ann = await shop.register("ann", email="ann@example.com")
    answers = []
    for birth in ({"month": 7, "day": 4, "year": 1985}, None):
        body = await gql.execute(
            UPDATE, {"input": {"customerId": ann, "birthDate": birth}}, token=shop.service
        )
        answers.append(body["data"]["updateCustomer"])
    assert answers == [
        {"customer": {"birthDate": {"month": 7, "day": 4, "year": 1985}}, "userErrors": []},
        {"customer": {"birthDate": None}, "userErrors": []},
    ]
    # other fields changed, the birth date stays
    await gql.execute(
        UPDATE, {"input": {"customerId": ann, "birthDate": {"month": 1, "day": 2}}},
        token=shop.service,
    )  # fmt: skip
    body = await gql.execute(
        UPDATE, {"input": {"customerId": ann, "name": "Ann"}}, token=shop.service
    )
    assert body["data"]["updateCustomer"]["customer"]["birthDate"] == {
        "month": 1, "day": 2, "year": None,
    }  # fmt: skip


async def test_customers_set_their_own_birth_date(gql: GraphQLClient) -> None:
    shop = await Shop.open(gql)
    await shop.register("ann")
    token = shop.customer("ann")
    body = await gql.execute(
        UPDATE_MINE, {"input": {"birthDate": {"month": 3, "day": 9}, "idempotencyKey": "b-1"}},
        token=token,
    )  # fmt: skip
    assert body["data"]["updateMyProfile"] == {
        "customer": {"birthDate": {"month": 3, "day": 9, "year": None}}, "userErrors": [],
    }  # fmt: skip
    wrong = await gql.execute(
        UPDATE_MINE, {"input": {"birthDate": {"month": 2, "day": 31}}}, token=token
    )
    assert [e["code"] for e in wrong["data"]["updateMyProfile"]["userErrors"]] == ["INVALID_VALUE"]
    assert (await gql.execute(VIEWER, token=token))["data"]["viewer"]["birthDate"] == {
        "month": 3, "day": 9, "year": None,
    }  # fmt: skip


async def test_only_a_customer_updates_their_own_profile(gql: GraphQLClient) -> None:
    shop = await Shop.open(gql)
    body = await gql.execute(
        UPDATE_MINE, {"input": {"birthDate": {"month": 3, "day": 9}}}, token=shop.service,
        expect_errors=True,
    )  # fmt: skip
    assert body["data"] is None
    assert len(body["errors"]) == 1


async def test_a_registration_sent_again_without_the_birth_date_is_the_same(
    gql: GraphQLClient,
) -> None:
    # given: the customer gave their birth date themselves after registering
    shop = await Shop.open(gql)
    first = await _register(shop, "ann")
    await gql.execute(
        UPDATE_MINE, {"input": {"birthDate": {"month": 3, "day": 9}}}, token=shop.customer("ann")
    )
    # when: the shop sends the registration again, as it does at every sign-in
    again = await _register(shop, "ann")
    other = await _register(shop, "ann", birthDate={"month": 3, "day": 10})
    # then
    assert again == {
        "customer": {"id": first["customer"]["id"], "birthDate": {"month": 3, "day": 9,
                                                                  "year": None}},
        "userErrors": [],
    }  # fmt: skip
    assert [e["code"] for e in other["userErrors"]] == ["ALREADY_EXISTS"]
