"""createSite, configureProgram and the site queries (site, sites, node)."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty_gql.api.core.ids import to_global_id
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM, CREATE_SITE
from tests.support.shop import create_site, register

PROGRAM_FIELDS = """
  enabled currencyCode earnRate pointsRounding participation orderPointsPending
  validityPolicy validityDays expiryWarningDays version
  newsletterSignupPoints productReviewPoints referralPoints
  customActivities { code name points dailyCap }
  thresholdReward {
    enabled points valueType value validityDays
    minimumOrderValue { amount currencyCode }
  }
"""

PROGRAM = f"query Program($id: ID!) {{ site(id: $id) {{ program {{ {PROGRAM_FIELDS} }} }} }}"

SITE = """
query Site($id: ID!) {
  site(id: $id) { id code name createdAt program { enabled currencyCode } }
}
"""

SITES = "query Sites { sites { code name } }"

NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on Site { code } }
}
"""

DEFAULT_PROGRAM: dict[str, Any] = {
    "enabled": False,
    "currencyCode": "EUR",
    "earnRate": "10",
    "pointsRounding": "DOWN",
    "participation": "ENROLLED_CUSTOMERS",
    "orderPointsPending": True,
    "validityPolicy": "NONE",
    "validityDays": None,
    "expiryWarningDays": [],
    "version": 1,
    "newsletterSignupPoints": 0,
    "productReviewPoints": 0,
    "referralPoints": 0,
    "customActivities": [],
    "thresholdReward": {
        "enabled": False,
        "points": 5000,
        "valueType": "PERCENT",
        "value": "10",
        "validityDays": 90,
        "minimumOrderValue": {"amount": "0.00", "currencyCode": "EUR"},
    },
}


def _reward(**changes: Any) -> dict[str, Any]:
    """A threshold reward input that is valid unless ``changes`` break it."""
    return {"enabled": True, "points": 1000, "valueType": "PERCENT", "value": "10", **changes}


def _activity(code: str, **changes: Any) -> dict[str, Any]:
    """A custom activity input that is valid unless ``changes`` break it."""
    return {"code": code, "name": f"Activity {code}", "points": 50, **changes}


async def _configure(gql: GraphQLClient, site_id: str, code: str, **changes: Any) -> dict[str, Any]:
    body = await gql.execute(
        CONFIGURE_PROGRAM, {"input": {"siteId": site_id, **changes}}, token=gql.token("admin", code)
    )
    payload: dict[str, Any] = body["data"]["configureProgram"]
    return payload


async def _program(gql: GraphQLClient, site_id: str, code: str) -> dict[str, Any]:
    body = await gql.execute(PROGRAM, {"id": site_id}, token=gql.token("admin", code))
    program: dict[str, Any] = body["data"]["site"]["program"]
    return program


# createSite


async def test_a_new_site_starts_with_its_program_off_and_default_settings(
    gql: GraphQLClient, clock: Clock
):
    # given
    admin = gql.token("admin", "shop-a")
    # when
    body = await gql.execute(
        CREATE_SITE,
        {"input": {"code": " shop-a ", "name": "  Shop A ", "currencyCode": " eur "}},
        token=admin,
    )
    # then
    payload = body["data"]["createSite"]
    site_id = payload["site"]["id"]
    assert payload == {
        "site": {
            "id": site_id,
            "code": "shop-a",
            "name": "Shop A",
            "program": {"enabled": False, "currencyCode": "EUR"},
        },
        "userErrors": [],
    }
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM
    site = await gql.execute(SITE, {"id": site_id}, token=admin)
    assert site["data"]["site"]["createdAt"] == clock.now.isoformat()


async def test_an_admin_may_only_create_sites_listed_in_the_token(gql: GraphQLClient):
    # given
    variables = {"input": {"code": "shop-b", "name": "Shop B", "currencyCode": "EUR"}}
    # when
    other_admin = await gql.execute(
        CREATE_SITE, variables, token=gql.token("admin", "shop-a"), expect_errors=True
    )
    service = await gql.execute(
        CREATE_SITE, variables, token=gql.token("service", "shop-b"), expect_errors=True
    )
    anonymous = await gql.execute(CREATE_SITE, variables, expect_errors=True)
    # then
    assert other_admin["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in other_admin["errors"]] == [
        ("An admin may only create sites listed in their token.", "FORBIDDEN")
    ]
    for refused in (service, anonymous):
        assert refused["data"] is None
        assert [(e["message"], e["extensions"]["code"]) for e in refused["errors"]] == [
            ("Only an admin token may do this.", "FORBIDDEN")
        ]
    sites = await gql.execute(SITES, token=gql.token("admin", "shop-a", "shop-b"))
    assert sites["data"]["sites"] == []


async def test_a_taken_site_code_is_already_exists_and_keeps_the_first_site(
    gql: GraphQLClient,
):
    # given
    await create_site(gql, "shop-a", enabled=False)
    # when
    body = await gql.execute(
        CREATE_SITE,
        {"input": {"code": "shop-a", "name": "Impostor", "currencyCode": "JPY"}},
        token=gql.token("admin", "shop-a"),
    )
    # then
    assert body["data"]["createSite"] == {
        "site": None,
        "userErrors": [
            {
                "field": ["input", "code"],
                "code": "ALREADY_EXISTS",
                "message": "a site with code 'shop-a' exists",
            }
        ],
    }
    sites = await gql.execute(SITES, token=gql.token("admin", "shop-a"))
    assert sites["data"]["sites"] == [{"code": "shop-a", "name": "Shop shop-a"}]


SITE_CODE_RULE = "codes are 2-63 characters of a-z, 0-9 and -, starting with a letter or digit"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code": "Shop_A"}, ("code", "INVALID_VALUE", SITE_CODE_RULE)),
        ({"code": "-shop"}, ("code", "INVALID_VALUE", SITE_CODE_RULE)),
        ({"code": "s"}, ("code", "INVALID_VALUE", SITE_CODE_RULE)),
        ({"name": "   "}, ("name", "INVALID_VALUE", "must be 1-200 characters")),
        ({"name": "x" * 201}, ("name", "INVALID_VALUE", "must be 1-200 characters")),
        (
            {"currencyCode": "EURO"},
            ("currencyCode", "UNKNOWN_CURRENCY", "'EURO' is not an ISO 4217 currency code"),
        ),
        (
            {"currencyCode": "ABC"},
            ("currencyCode", "UNKNOWN_CURRENCY", "'ABC' is not an ISO 4217 currency code"),
        ),
    ],
)
async def test_an_unusable_code_name_or_currency_is_a_user_error_and_creates_nothing(
    gql: GraphQLClient, changes: dict[str, str], error: tuple[str, str, str]
):
    # given
    site = {"code": "shop-a", "name": "Shop A", "currencyCode": "EUR", **changes}
    admin = gql.token("admin", site["code"], "shop-a")
    # when
    body = await gql.execute(CREATE_SITE, {"input": site}, token=admin)
    # then
    field, code, message = error
    assert body["data"]["createSite"] == {
        "site": None,
        "userErrors": [{"field": ["input", field], "code": code, "message": message}],
    }
    sites = await gql.execute(SITES, token=admin)
    assert sites["data"]["sites"] == []


async def test_create_site_with_one_key_twice_makes_one_site_and_replays(gql: GraphQLClient):
    # given
    admin = gql.token("admin", "shop-a", "shop-b")
    base = {"code": "shop-a", "name": "Shop A", "currencyCode": "EUR", "idempotencyKey": "s-1"}
    # when
    first = await gql.execute(CREATE_SITE, {"input": base}, token=admin)
    second = await gql.execute(CREATE_SITE, {"input": base}, token=admin)
    reused = await gql.execute(CREATE_SITE, {"input": {**base, "code": "shop-b"}}, token=admin)
    # then
    assert second["data"] == first["data"]
    assert first["data"]["createSite"]["userErrors"] == []
    assert reused["data"]["createSite"] == {
        "site": None,
        "userErrors": [
            {
                "field": ["input", "idempotencyKey"],
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "this idempotency key was already used with a different request",
            }
        ],
    }
    sites = await gql.execute(SITES, token=admin)
    assert sites["data"]["sites"] == [{"code": "shop-a", "name": "Shop A"}]


# configureProgram: changes that are accepted


async def test_a_partial_update_keeps_the_other_settings_and_bumps_the_version(
    gql: GraphQLClient,
):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    await _configure(
        gql, site_id, "shop-a", earnRate="2.5", pointsRounding="HALF_UP", referralPoints=300
    )
    # when
    payload = await _configure(gql, site_id, "shop-a", enabled=True)
    # then
    expected = {
        **DEFAULT_PROGRAM,
        "enabled": True,
        "earnRate": "2.5",
        "pointsRounding": "HALF_UP",
        "referralPoints": 300,
        "version": 3,
    }
    assert payload == {"program": expected, "userErrors": []}
    assert await _program(gql, site_id, "shop-a") == expected


async def test_every_setting_round_trips(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    # when
    payload = await _configure(
        gql,
        site_id,
        "shop-a",
        enabled=True,
        currencyCode="usd",
        earnRate="0.0125",
        pointsRounding="UP",
        participation="ALL_REGISTERED_CUSTOMERS",
        orderPointsPending=False,
        validityPolicy="ROLLING_DAYS",
        validityDays=365,
        expiryWarningDays=[7, 30, 14],
        newsletterSignupPoints=100,
        productReviewPoints=25,
        referralPoints=500,
        customActivities=[
            _activity(" BIRTHDAY ", name=" Birthday ", points=200, dailyCap=1),
            _activity("APP_INSTALL"),
        ],
        thresholdReward=_reward(
            points=2500,
            valueType="FIXED_AMOUNT",
            value="5",
            minimumOrderValue="20.5",
            validityDays=30,
        ),
    )
    # then
    expected = {
        "enabled": True,
        "currencyCode": "USD",
        "earnRate": "0.0125",
        "pointsRounding": "UP",
        "participation": "ALL_REGISTERED_CUSTOMERS",
        "orderPointsPending": False,
        "validityPolicy": "ROLLING_DAYS",
        "validityDays": 365,
        "expiryWarningDays": [30, 14, 7],
        "version": 2,
        "newsletterSignupPoints": 100,
        "productReviewPoints": 25,
        "referralPoints": 500,
        "customActivities": [
            {"code": "BIRTHDAY", "name": "Birthday", "points": 200, "dailyCap": 1},
            {"code": "APP_INSTALL", "name": "Activity APP_INSTALL", "points": 50, "dailyCap": None},
        ],
        "thresholdReward": {
            "enabled": True,
            "points": 2500,
            "valueType": "FIXED_AMOUNT",
            "value": "5",
            "validityDays": 30,
            "minimumOrderValue": {"amount": "20.50", "currencyCode": "USD"},
        },
    }
    assert payload == {"program": expected, "userErrors": []}
    assert await _program(gql, site_id, "shop-a") == expected


@pytest.mark.parametrize(
    ("currency", "minimum", "shown"),
    [("EUR", "50", "50.00"), ("JPY", "50", "50"), ("KWD", "12.5", "12.500"), ("EUR", "0", "0.00")],
)
async def test_the_minimum_order_value_is_money_in_the_site_currency(
    gql: GraphQLClient, currency: str, minimum: str, shown: str
):
    # given
    site_id = await create_site(gql, "shop-a", currency=currency)
    # when
    payload = await _configure(
        gql, site_id, "shop-a", thresholdReward=_reward(minimumOrderValue=minimum)
    )
    # then
    assert payload["userErrors"] == []
    reward = (await _program(gql, site_id, "shop-a"))["thresholdReward"]
    assert reward == {
        "enabled": True,
        "points": 1000,
        "valueType": "PERCENT",
        "value": "10",
        "validityDays": 90,
        "minimumOrderValue": {"amount": shown, "currencyCode": currency},
    }


async def test_custom_activities_are_replaced_as_a_whole(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    await _configure(
        gql, site_id, "shop-a", customActivities=[_activity("BIRTHDAY"), _activity("APP")]
    )
    # when
    payload = await _configure(
        gql, site_id, "shop-a", customActivities=[_activity("SURVEY", dailyCap=3)]
    )
    emptied = await _configure(gql, site_id, "shop-a", customActivities=[])
    # then
    assert payload["program"]["customActivities"] == [
        {"code": "SURVEY", "name": "Activity SURVEY", "points": 50, "dailyCap": 3}
    ]
    assert emptied["program"]["customActivities"] == []
    assert emptied["program"]["version"] == 5


async def test_validity_days_may_be_cleared_with_null_when_points_stop_expiring(
    gql: GraphQLClient,
):
    # given
    site_id = await create_site(gql, "shop-a")
    await _configure(gql, site_id, "shop-a", validityPolicy="FIXED_DAYS", validityDays=30)
    # when
    payload = await _configure(gql, site_id, "shop-a", validityPolicy="NONE", validityDays=None)
    # then
    assert payload["userErrors"] == []
    program = await _program(gql, site_id, "shop-a")
    assert (program["validityPolicy"], program["validityDays"], program["version"]) == (
        "NONE",
        None,
        4,
    )


# configureProgram: changes that are refused

NOT_EXPIRING = "must be empty when points never expire"
EXPIRING = "must be 1 to 36500 days when points expire"
STEPS = "steps must be distinct numbers from 1 to 3650"
EVENT_POINTS = "must be 0 to 10000000 points"
ACTIVITY_POINTS = "must be 1 to 10000000 points"
ACTIVITY_CODE = "codes are 2-40 characters of A-Z, 0-9 and _, starting with a letter"
ROLLING = {"validityPolicy": "ROLLING_DAYS", "validityDays": 365}
REWARD = ("input", "thresholdReward")
FIRST_ACTIVITY = ("input", "customActivities", "0")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"currencyCode": "XYZ"},
            (
                ("input", "currencyCode"),
                "UNKNOWN_CURRENCY",
                "'XYZ' is not an ISO 4217 currency code",
            ),
        ),
        (
            {"earnRate": "-0.5"},
            (("input", "earnRate"), "INVALID_VALUE", "must be between 0 and 10000 points per 1.00"),
        ),
        (
            {"earnRate": "10000.01"},
            (("input", "earnRate"), "INVALID_VALUE", "must be between 0 and 10000 points per 1.00"),
        ),
        (
            {"earnRate": "1.23456"},
            (("input", "earnRate"), "INVALID_VALUE", "may have at most 4 decimal places"),
        ),
        ({"validityDays": 30}, (("input", "validityDays"), "INVALID_VALUE", NOT_EXPIRING)),
        ({"validityPolicy": "FIXED_DAYS"}, (("input", "validityDays"), "INVALID_VALUE", EXPIRING)),
        (
            {"validityPolicy": "ROLLING_DAYS", "validityDays": 0},
            (("input", "validityDays"), "INVALID_VALUE", EXPIRING),
        ),
        (
            {"validityPolicy": "FIXED_DAYS", "validityDays": 36501},
            (("input", "validityDays"), "INVALID_VALUE", EXPIRING),
        ),
        (
            {**ROLLING, "expiryWarningDays": list(range(1, 12))},
            (("input", "expiryWarningDays"), "INVALID_VALUE", "at most 10 steps are allowed"),
        ),
        (
            {**ROLLING, "expiryWarningDays": [30, 0]},
            (("input", "expiryWarningDays"), "INVALID_VALUE", STEPS),
        ),
        (
            {**ROLLING, "expiryWarningDays": [3651]},
            (("input", "expiryWarningDays"), "INVALID_VALUE", STEPS),
        ),
        (
            {**ROLLING, "expiryWarningDays": [14, 7, 14]},
            (("input", "expiryWarningDays"), "INVALID_VALUE", STEPS),
        ),
        (
            {"expiryWarningDays": [30]},
            (
                ("input", "expiryWarningDays"),
                "INVALID_VALUE",
                "warnings need a validity policy that expires points",
            ),
        ),
        (
            {"thresholdReward": _reward(points=0)},
            ((*REWARD, "points"), "INVALID_VALUE", "points must be 1 to 10000000"),
        ),
        (
            {"thresholdReward": _reward(points=10_000_001)},
            ((*REWARD, "points"), "INVALID_VALUE", "points must be 1 to 10000000"),
        ),
        (
            {"thresholdReward": _reward(value="0")},
            (
                (*REWARD, "value"),
                "INVALID_VALUE",
                "a percentage must be above 0 and at most 100",
            ),
        ),
        (
            {"thresholdReward": _reward(value="100.5")},
            (
                (*REWARD, "value"),
                "INVALID_VALUE",
                "a percentage must be above 0 and at most 100",
            ),
        ),
        (
            {"thresholdReward": _reward(valueType="FIXED_AMOUNT", value="0")},
            ((*REWARD, "value"), "INVALID_VALUE", "must be above 0"),
        ),
        (
            {"thresholdReward": _reward(valueType="FIXED_AMOUNT", value="4.999")},
            ((*REWARD, "value"), "INVALID_VALUE", "EUR amounts have 2 decimal places"),
        ),
        (
            {"thresholdReward": _reward(minimumOrderValue="-1")},
            ((*REWARD, "minimumOrderValue"), "INVALID_VALUE", "must not be negative"),
        ),
        (
            {"thresholdReward": _reward(minimumOrderValue="25.001")},
            ((*REWARD, "minimumOrderValue"), "INVALID_VALUE", "EUR amounts have 2 decimal places"),
        ),
        (
            {"thresholdReward": _reward(validityDays=0)},
            ((*REWARD, "validityDays"), "INVALID_VALUE", "must be 1 to 3650 days"),
        ),
        (
            {"thresholdReward": _reward(validityDays=3651)},
            ((*REWARD, "validityDays"), "INVALID_VALUE", "must be 1 to 3650 days"),
        ),
        (
            {"newsletterSignupPoints": -1},
            (("input", "newsletterSignupPoints"), "INVALID_VALUE", EVENT_POINTS),
        ),
        (
            {"productReviewPoints": 10_000_001},
            (("input", "productReviewPoints"), "INVALID_VALUE", EVENT_POINTS),
        ),
        ({"referralPoints": -5}, (("input", "referralPoints"), "INVALID_VALUE", EVENT_POINTS)),
        (
            {"customActivities": [_activity(f"A{n}") for n in range(101)]},
            (("input", "customActivities"), "INVALID_VALUE", "at most 100 are allowed"),
        ),
        (
            {"customActivities": [_activity("birthday")]},
            ((*FIRST_ACTIVITY, "code"), "INVALID_VALUE", ACTIVITY_CODE),
        ),
        (
            {"customActivities": [_activity("B")]},
            ((*FIRST_ACTIVITY, "code"), "INVALID_VALUE", ACTIVITY_CODE),
        ),
        (
            {"customActivities": [_activity("1ST_ORDER")]},
            ((*FIRST_ACTIVITY, "code"), "INVALID_VALUE", ACTIVITY_CODE),
        ),
        (
            {"customActivities": [_activity("REFERRAL")]},
            ((*FIRST_ACTIVITY, "code"), "DUPLICATE", "REFERRAL is a built-in activity"),
        ),
        (
            {"customActivities": [_activity("NEWSLETTER_SIGNUP")]},
            ((*FIRST_ACTIVITY, "code"), "DUPLICATE", "NEWSLETTER_SIGNUP is a built-in activity"),
        ),
        (
            {"customActivities": [_activity("BIRTHDAY"), _activity(" BIRTHDAY ")]},
            (("input", "customActivities", "1", "code"), "DUPLICATE", "BIRTHDAY is listed twice"),
        ),
        (
            {"customActivities": [_activity("BIRTHDAY", name="   ")]},
            ((*FIRST_ACTIVITY, "name"), "INVALID_VALUE", "must be 1-200 characters"),
        ),
        (
            {"customActivities": [_activity("BIRTHDAY", name="n" * 201)]},
            ((*FIRST_ACTIVITY, "name"), "INVALID_VALUE", "must be 1-200 characters"),
        ),
        (
            {"customActivities": [_activity("BIRTHDAY", points=0)]},
            ((*FIRST_ACTIVITY, "points"), "INVALID_VALUE", ACTIVITY_POINTS),
        ),
        (
            {"customActivities": [_activity("BIRTHDAY", dailyCap=0)]},
            ((*FIRST_ACTIVITY, "dailyCap"), "INVALID_VALUE", "must be at least 1"),
        ),
    ],
)
async def test_an_incoherent_setting_is_a_user_error_and_changes_nothing(
    gql: GraphQLClient, changes: dict[str, Any], error: tuple[tuple[str, ...], str, str]
):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    # when
    payload = await _configure(gql, site_id, "shop-a", **changes)
    # then
    field, code, message = error
    assert payload == {
        "program": None,
        "userErrors": [{"field": list(field), "code": code, "message": message}],
    }
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


async def test_every_problem_of_an_input_is_listed_at_once(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    # when
    payload = await _configure(
        gql,
        site_id,
        "shop-a",
        earnRate="-1",
        validityDays=10,
        referralPoints=-1,
        customActivities=[_activity("x", name="", points=0, dailyCap=0)],
    )
    # then
    assert payload["program"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "earnRate"], "INVALID_VALUE"),
        (["input", "validityDays"], "INVALID_VALUE"),
        (["input", "referralPoints"], "INVALID_VALUE"),
        (["input", "customActivities", "0", "code"], "INVALID_VALUE"),
        (["input", "customActivities", "0", "name"], "INVALID_VALUE"),
        (["input", "customActivities", "0", "points"], "INVALID_VALUE"),
        (["input", "customActivities", "0", "dailyCap"], "INVALID_VALUE"),
    ]
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


async def test_a_new_currency_is_checked_against_the_stored_reward_amounts(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    await _configure(
        gql, site_id, "shop-a", thresholdReward=_reward(valueType="FIXED_AMOUNT", value="5.50")
    )
    before = await _program(gql, site_id, "shop-a")
    # when
    payload = await _configure(gql, site_id, "shop-a", currencyCode="JPY")
    # then
    assert payload == {
        "program": None,
        "userErrors": [
            {
                "field": ["input", "thresholdReward", "value"],
                "code": "INVALID_VALUE",
                "message": "JPY amounts have 0 decimal places",
            }
        ],
    }
    assert await _program(gql, site_id, "shop-a") == before


@pytest.mark.parametrize(
    "name",
    [
        "enabled",
        "currencyCode",
        "earnRate",
        "pointsRounding",
        "participation",
        "orderPointsPending",
        "validityPolicy",
        "thresholdReward",
        "newsletterSignupPoints",
        "productReviewPoints",
        "referralPoints",
        "customActivities",
        "expiryWarningDays",
    ],
)
async def test_null_for_a_setting_that_always_has_a_value_is_required(
    gql: GraphQLClient, name: str
):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    # when
    payload = await _configure(gql, site_id, "shop-a", **{name: None})
    # then
    assert payload == {
        "program": None,
        "userErrors": [
            {
                "field": ["input", name],
                "code": "REQUIRED",
                "message": f"{name} may be omitted but not null",
            }
        ],
    }
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


async def test_a_site_id_of_another_type_is_a_bad_request(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-1")
    # when
    body = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": customer["id"], "enabled": False}},
        token=gql.token("admin", "shop-a"),
        expect_errors=True,
    )
    # then
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (f"{customer['id']!r} is not a valid ID of a Site", "BAD_USER_INPUT")
    ]


# configureProgram: idempotency keys


async def test_configure_retried_with_its_key_replays_and_changes_once(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    admin = gql.token("admin", "shop-a")
    variables = {"input": {"siteId": site_id, "referralPoints": 250, "idempotencyKey": "cfg-1"}}
    # when
    first = await gql.execute(CONFIGURE_PROGRAM, variables, token=admin)
    second = await gql.execute(CONFIGURE_PROGRAM, variables, token=admin)
    # then
    assert second["data"] == first["data"]
    assert first["data"]["configureProgram"]["program"]["referralPoints"] == 250
    assert first["data"]["configureProgram"]["program"]["version"] == 2
    assert (await _program(gql, site_id, "shop-a"))["version"] == 2


async def test_configure_key_reused_with_other_settings_is_refused(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    await _configure(gql, site_id, "shop-a", referralPoints=250, idempotencyKey="cfg-1")
    # when
    payload = await _configure(gql, site_id, "shop-a", referralPoints=999, idempotencyKey="cfg-1")
    # then
    assert payload == {
        "program": None,
        "userErrors": [
            {
                "field": ["input", "idempotencyKey"],
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "this idempotency key was already used with a different request",
            }
        ],
    }
    program = await _program(gql, site_id, "shop-a")
    assert (program["referralPoints"], program["version"]) == (250, 2)


async def test_a_refused_configure_does_not_use_up_its_key(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    refused = await _configure(gql, site_id, "shop-a", referralPoints=-1, idempotencyKey="cfg-1")
    # when
    corrected = await _configure(gql, site_id, "shop-a", referralPoints=10, idempotencyKey="cfg-1")
    # then
    assert refused["userErrors"][0]["code"] == "INVALID_VALUE"
    assert corrected["userErrors"] == []
    assert corrected["program"]["referralPoints"] == 10


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_an_idempotency_key_must_be_1_to_200_characters(gql: GraphQLClient, key: str):
    # given
    site_id = await create_site(gql, "shop-a", enabled=False)
    # when
    payload = await _configure(gql, site_id, "shop-a", enabled=True, idempotencyKey=key)
    # then
    assert payload == {
        "program": None,
        "userErrors": [
            {
                "field": ["input", "idempotencyKey"],
                "code": "INVALID_VALUE",
                "message": "idempotency keys are 1-200 characters",
            }
        ],
    }
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


# site, sites, node


async def test_site_by_id_for_its_admin(gql: GraphQLClient, clock: Clock):
    # given
    site_id = await create_site(gql, "shop-a", currency="JPY")
    # when
    body = await gql.execute(SITE, {"id": site_id}, token=gql.token("admin", "shop-a"))
    # then
    assert body["data"]["site"] == {
        "id": site_id,
        "code": "shop-a",
        "name": "Shop shop-a",
        "createdAt": clock.now.isoformat(),
        "program": {"enabled": True, "currencyCode": "JPY"},
    }


async def test_a_customer_sees_the_site_program_but_not_its_staff_fields(gql: GraphQLClient):
    # given
    site_id = await create_site(gql, "shop-a")
    await register(gql, "shop-a", site_id, "c-1")
    ann = gql.token("customer", "shop-a", subject="c-1")
    # when
    visible = await gql.execute(
        "query($id: ID!) { site(id: $id) { code name program { enabled earnRate } } }",
        {"id": site_id},
        token=ann,
    )
    staff_only = await gql.execute(SITE, {"id": site_id}, token=ann, expect_errors=True)
    # then
    assert visible["data"]["site"] == {
        "code": "shop-a",
        "name": "Shop shop-a",
        "program": {"enabled": True, "earnRate": "10"},
    }
    # the staff-only field is null, not the site around it (#16)
    assert staff_only["data"]["site"]["code"] == "shop-a"
    assert staff_only["data"]["site"]["createdAt"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in staff_only["errors"]] == [
        (["site", "createdAt"], "FORBIDDEN")
    ]


async def test_site_is_null_for_an_unknown_id_and_refuses_ids_of_other_types(
    gql: GraphQLClient,
):
    # given
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-1")
    admin = gql.token("admin", "shop-a")
    # when
    unknown = await gql.execute(SITE, {"id": to_global_id("Site", 999)}, token=admin)
    wrong_type = await gql.execute(SITE, {"id": customer["id"]}, token=admin, expect_errors=True)
    # then
    assert unknown["data"] == {"site": None}
    assert wrong_type["data"] == {"site": None}
    assert [(e["message"], e["extensions"]["code"]) for e in wrong_type["errors"]] == [
        (f"{customer['id']!r} is not a valid ID of a Site", "BAD_USER_INPUT")
    ]


async def test_sites_lists_the_token_sites_in_code_order(gql: GraphQLClient):
    # given
    for code in ("shop-c", "shop-a", "shop-b"):
        await create_site(gql, code)
    # when
    body = await gql.execute(SITES, token=gql.token("admin", "shop-c", "shop-a", "not-created"))
    service = await gql.execute(SITES, token=gql.token("service", "shop-b"))
    # then
    assert body["data"]["sites"] == [
        {"code": "shop-a", "name": "Shop shop-a"},
        {"code": "shop-c", "name": "Shop shop-c"},
    ]
    assert service["data"]["sites"] == [{"code": "shop-b", "name": "Shop shop-b"}]


async def test_node_fetches_a_site_only_for_callers_of_that_site(gql: GraphQLClient):
    # given
    site_a = await create_site(gql, "shop-a")
    await create_site(gql, "shop-b")
    # when
    own = await gql.execute(NODE, {"id": site_a}, token=gql.token("admin", "shop-a"))
    other = await gql.execute(NODE, {"id": site_a}, token=gql.token("admin", "shop-b"))
    garbage = await gql.execute(
        NODE, {"id": "not an id"}, token=gql.token("admin", "shop-a"), expect_errors=True
    )
    # then
    assert own["data"]["node"] == {"__typename": "Site", "id": site_a, "code": "shop-a"}
    assert other["data"]["node"] is None
    assert garbage["data"] == {"node": None}
    assert [(e["message"], e["extensions"]["code"]) for e in garbage["errors"]] == [
        ("'not an id' is not a valid ID", "BAD_USER_INPUT")
    ]


async def test_a_disabled_reward_refuses_a_minimum_order_value_the_currency_cannot_show(
    gql: GraphQLClient,
):
    site_id = await create_site(gql, "shop-a", enabled=False)
    payload = await _configure(
        gql,
        site_id,
        "shop-a",
        thresholdReward=_reward(enabled=False, minimumOrderValue="0.001"),
    )
    assert payload == {
        "program": None,
        "userErrors": [
            {
                "field": ["input", "thresholdReward", "minimumOrderValue"],
                "code": "INVALID_VALUE",
                "message": "EUR amounts have 2 decimal places",
            }
        ],
    }
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


async def test_a_new_currency_is_checked_against_a_disabled_reward_minimum_order_value(
    gql: GraphQLClient,
):
    site_id = await create_site(gql, "shop-a", enabled=False)
    await _configure(
        gql, site_id, "shop-a", thresholdReward=_reward(enabled=False, minimumOrderValue="0.50")
    )
    payload = await _configure(gql, site_id, "shop-a", currencyCode="JPY")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "thresholdReward", "minimumOrderValue"], "INVALID_VALUE")
    ]
    assert (await _program(gql, site_id, "shop-a"))["currencyCode"] == "EUR"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"earnRate": "NaN"}, ["input", "earnRate"]),
        ({"thresholdReward": _reward(value="NaN")}, ["input", "thresholdReward", "value"]),
        (
            {"thresholdReward": _reward(valueType="FIXED_AMOUNT", value="Infinity")},
            ["input", "thresholdReward", "value"],
        ),
        (
            {"thresholdReward": _reward(minimumOrderValue="Infinity")},
            ["input", "thresholdReward", "minimumOrderValue"],
        ),
        (
            {"thresholdReward": _reward(enabled=False, value="NaN")},
            ["input", "thresholdReward", "value"],
        ),
    ],
)
async def test_a_number_that_is_not_finite_is_invalid_value(
    gql: GraphQLClient, changes: dict[str, Any], field: list[str]
):
    site_id = await create_site(gql, "shop-a", enabled=False)
    payload = await _configure(gql, site_id, "shop-a", **changes)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "INVALID_VALUE")]
    assert await _program(gql, site_id, "shop-a") == DEFAULT_PROGRAM


@pytest.mark.parametrize(("given", "stored"), [("1E+1", "10"), ("-0", "0"), ("10.50", "10.5")])
async def test_the_earn_rate_is_stored_in_one_spelling(gql: GraphQLClient, given: str, stored: str):
    site_id = await create_site(gql, "shop-a", enabled=False)
    payload = await _configure(gql, site_id, "shop-a", earnRate=given)
    assert payload["program"]["earnRate"] == stored
    assert (await _program(gql, site_id, "shop-a"))["earnRate"] == stored
