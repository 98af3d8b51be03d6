"""An end-to-end probe of the surface of campaigns, referral codes, birth dates, badges,
challenges and leaderboards, as a shop's developers and as attackers use it: who may call
what, what a bad input answers (a userError whose field names the input field at fault,
never a masked error), retries with idempotency keys, and that a refused mutation leaves
everything as it was (the lists, the ledger and the gamification checks).

The over-the-wire read-freshness probe (a real server) is in
tests/api/test_probe_viewer_freshness_server.py."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import graphql
import pytest
from sqlalchemy import func, select

from loyalty_gql.api.schema import schema as app_schema
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import BadgeTypeRow, CampaignRow, ChallengeRow, LeaderboardRow
from loyalty_gql.services.gamification.verify import verify_gamification
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support import gamification as g
from tests.support.shop import Shop

SCHEMA = app_schema._schema
MASKED = "Internal error."

CAMPAIGN: dict[str, Any] = {
    "name": "C",
    "trigger": "ORDER",
    "effect": {"kind": "FIXED_POINTS", "points": 10},
}
CHALLENGE: dict[str, Any] = {
    "code": "c1", "name": "Two orders", "goalKind": "COUNT", "target": 2,
    "rewards": [{"kind": "POINTS", "points": 5}],
}  # fmt: skip
BOARD: dict[str, Any] = {
    "code": "top",
    "name": "Top",
    "metric": "POINTS_EARNED",
    "period": "ALL_TIME",
}

CREATE_CAMPAIGN = """
mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
  campaign { id name status } userErrors { field code message } } }
"""
UPDATE_CAMPAIGN = """
mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) {
  campaign { id name } userErrors { field code message } } }
"""
CAMPAIGN_ACTION = """
mutation($input: CampaignActionInput!) { {action}(input: $input) {
  campaign { id status } userErrors { field code message } } }
"""
UPDATE_CHALLENGE = """
mutation($id: ID!, $input: ChallengeInput!) { updateChallenge(challengeId: $id, input: $input) {
  challenge { id code name target } userErrors { field code message } } }
"""
UPDATE_BADGE_TYPE = """
mutation($input: BadgeTypeInput!) { updateBadgeType(input: $input) {
  badgeType { id name } userErrors { field code message } } }
"""
CREATE_BOARD = """
mutation($input: CreateLeaderboardInput!) { createLeaderboard(input: $input) {
  leaderboard { id code live } userErrors { field code message } } }
"""
UPDATE_BOARD = """
mutation($input: UpdateLeaderboardInput!) { updateLeaderboard(input: $input) {
  leaderboard { id name } userErrors { field code message } } }
"""
BOARD_ACTION = """
mutation($input: PublishLeaderboardInput!) { {action}(input: $input) {
  leaderboard { id live } userErrors { field code message } } }
"""
PROFILE = """
mutation($input: SetLeaderboardProfileInput!) { setLeaderboardProfile(input: $input) {
  profile { displayName optIn } userErrors { field code message } } }
"""
MY_PROFILE = """
mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) {
  customer { birthDate { month day year } } userErrors { field code message } } }
"""
REGISTER = """
mutation($input: RegisterCustomerInput!) { registerCustomer(input: $input) {
  customer { id } userErrors { field code message } } }
"""
ENROLL = """
mutation($input: EnrollmentInput!) { enrollCustomer(input: $input) {
  customer { id enrolled } userErrors { field code message } } }
"""
ADMIN_LISTS = """
query($s: ID!) {
  campaigns(siteId: $s) { totalCount nodes { id name status } }
  leaderboards(siteId: $s) { code name live }
  badgeTypes(siteId: $s) { code name holders }
  challenges(siteId: $s) { code name target published }
}
"""
LIST_FIELDS = {
    "campaigns": "{ totalCount }", "leaderboards": "{ code }", "badgeTypes": "{ code }",
    "challenges": "{ code }",
}  # fmt: skip
CUSTOMER = """
query($id: ID!) { customer(id: $id) {
  id badges { code } challenges { code } referral { code } leaderboards { name } } }
"""
NODE = """
query($id: ID!) { node(id: $id) { id ... on Campaign { name } ... on Customer { externalId } } }
"""


def path_names_an_input_field(mutation: str, path: list[str]) -> bool:
    """Whether a userError's ``field`` walks the mutation's arguments and input types (list
    items by index): what a form needs to put the message beside the right box."""
    if not path:
        return True
    field = SCHEMA.mutation_type.fields[mutation] if SCHEMA.mutation_type else None
    argument = field.args.get(path[0]) if field else None
    if argument is None:
        return False
    type_: Any = argument.type
    for part in path[1:]:
        type_ = graphql.get_nullable_type(type_)
        if isinstance(type_, graphql.GraphQLList):
            if not part.isdigit():
                return False
            type_ = type_.of_type
        elif isinstance(type_, graphql.GraphQLInputObjectType) and part in type_.fields:
            type_ = type_.fields[part].type
        else:
            return False
    return True


async def send(
    gql: GraphQLClient, query: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    """POST the operation as JSON text (lone surrogates escaped); never a 5xx or a masked
    error, and every top-level error carries a code."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body_text = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    response = await gql.http.post("/graphql", content=body_text, headers=headers)
    assert response.status_code < 500, response.text
    assert MASKED not in response.text, (variables, response.text)
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code"), error
    return body


def payload_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one mutation's name and payload."""
    [(name, payload)] = body["data"].items()
    assert isinstance(payload, dict)
    return name, payload


async def counts(db: Database) -> dict[str, int]:
    """Rows of the new areas' tables."""
    out = {}
    async with db.read_sessions() as session:
        for model in (CampaignRow, BadgeTypeRow, ChallengeRow, LeaderboardRow):
            out[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
    return out


async def two_sites(gql: GraphQLClient) -> tuple[Shop, Shop, dict[str, str]]:
    """Site A with a campaign, a badge, a challenge and a board; site B with a customer;
    the IDs of A's objects."""
    a = await Shop.open(gql, "shop-a", referralPoints=100)
    b = await Shop.open(gql, "shop-b")
    await a.register("ann", enroll=True)
    await a.register("amy", enroll=True)
    await b.register("bob", enroll=True)
    await g.badge_type(a, "gold")
    body = await gql.execute(
        CREATE_CAMPAIGN, {"input": {"siteId": a.site_id, "campaign": CAMPAIGN}}, token=a.admin
    )
    campaign = body["data"]["createCampaign"]["campaign"]["id"]
    challenge = await g.challenge(a, **CHALLENGE)
    body = await gql.execute(CREATE_BOARD, {"input": {"siteId": a.site_id, **BOARD}}, token=a.admin)
    board = body["data"]["createLeaderboard"]["leaderboard"]["id"]
    ids = {"campaign": campaign, "challenge": challenge, "board": board}
    return a, b, ids


# -- authorisation ---------------------------------------------------------------------------


def admin_writes(a: Shop, site_id: str, ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Every admin mutation of the new areas on site A's objects, naming ``site_id``."""
    ann = a.customers["ann"]
    return [
        (CREATE_CAMPAIGN, {"input": {"siteId": site_id, "campaign": CAMPAIGN}}),
        (UPDATE_CAMPAIGN, {"input": {"campaignId": ids["campaign"], "campaign": CAMPAIGN}}),
        *[
            (CAMPAIGN_ACTION.replace("{action}", action),
             {"input": {"campaignId": ids["campaign"]}})
            for action in ("publishCampaign", "unpublishCampaign", "copyCampaign",
                           "deleteCampaign")
        ],
        (g.CREATE_BADGE_TYPE, {"input": {"siteId": site_id, "code": "x", "name": "X"}}),
        (UPDATE_BADGE_TYPE, {"input": {"siteId": site_id, "code": "gold", "name": "Taken"}}),
        (g.GRANT_BADGE, {"input": {"siteId": site_id, "customerId": ann, "badgeCode": "gold",
                                   "reason": "r"}}),
        (g.REVOKE_BADGE, {"input": {"siteId": site_id, "customerId": ann, "badgeCode": "gold"}}),
        (g.CREATE_CHALLENGE, {"input": {"siteId": site_id, **CHALLENGE, "code": "c2"}}),
        (UPDATE_CHALLENGE, {"id": ids["challenge"],
                            "input": {"siteId": site_id, **CHALLENGE, "name": "Taken"}}),
        (g.PUBLISH_CHALLENGE, {"input": {"siteId": site_id, "challengeId": ids["challenge"],
                                         "published": False}}),
        (CREATE_BOARD, {"input": {"siteId": site_id, **BOARD, "code": "b2"}}),
        (UPDATE_BOARD, {"input": {"leaderboardId": ids["board"], "name": "Taken"}}),
        *[
            (BOARD_ACTION.replace("{action}", action), {"input": {"leaderboardId": ids["board"]}})
            for action in ("publishLeaderboard", "unpublishLeaderboard")
        ],
    ]  # fmt: skip


@pytest.mark.parametrize("caller", ["customer", "service", "other-admin", "anonymous"])
async def test_no_one_but_the_sites_admin_changes_its_campaigns_badges_challenges_boards(
    gql: GraphQLClient, db: Database, caller: str
):
    # given: site A's objects; B's admin names B's site (which it manages) and A's IDs
    a, b, ids = await two_sites(gql)
    before = (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"]
    rows = await counts(db)
    token = {
        "customer": a.customer("ann"), "service": a.service, "other-admin": b.admin,
        "anonymous": None,
    }[caller]  # fmt: skip
    site_id = b.site_id if caller == "other-admin" else a.site_id
    for query, variables in admin_writes(a, site_id, ids):
        if caller == "other-admin" and query in (
            CREATE_CAMPAIGN,
            g.CREATE_BADGE_TYPE,
            g.CREATE_CHALLENGE,
            CREATE_BOARD,
        ):
            continue  # B's admin may create on B; that is not A's  # fmt: skip
        # when
        body = await send(gql, query, variables, token)
        # then: a top-level refusal (FORBIDDEN, UNAUTHENTICATED) or NOT_FOUND, never a result
        if body.get("data") is None:
            assert body["errors"], body
            continue
        name, payload = payload_of(body)
        results = [v for k, v in payload.items() if k != "userErrors"]
        assert results == [None], (name, payload)
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"], (name, payload)
    # and A's objects, their lists and the checks are as they were
    assert (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"] == before
    assert await counts(db) == rows
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


@pytest.mark.parametrize("caller", ["customer", "service", "other-admin", "anonymous"])
async def test_the_admin_lists_are_the_sites_admins_and_staffs_only(gql: GraphQLClient, caller):
    a, b, _ = await two_sites(gql)
    token = {
        "customer": a.customer("ann"), "service": a.service, "other-admin": b.admin,
        "anonymous": None,
    }[caller]  # fmt: skip
    for field, selection in LIST_FIELDS.items():
        body = await send(gql, f"query($s: ID!) {{ {field}(siteId: $s) {selection} }}",
                          {"s": a.site_id}, token)  # fmt: skip
        # the shop backend reads badge types and challenges (staff lists); nobody else does
        if caller == "service" and field in ("badgeTypes", "challenges"):
            assert body["data"][field], body
        else:
            assert body.get("data") is None, (field, body)
            assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")


@pytest.mark.parametrize("caller", ["ann", "bob-of-b", "admin-of-b", "anonymous"])
async def test_node_shows_a_campaign_or_another_customer_to_no_outsider(
    gql: GraphQLClient, caller: str
):
    a, b, ids = await two_sites(gql)
    token = {
        "ann": a.customer("ann"), "bob-of-b": b.customer("bob"), "admin-of-b": b.admin,
        "anonymous": None,
    }[caller]  # fmt: skip
    hidden = [ids["campaign"], a.customers["amy"]]
    if caller != "ann":
        hidden.append(a.customers["ann"])
    for global_id in hidden:
        body = await send(gql, NODE, {"id": global_id}, token)
        assert body["data"] == {"node": None}, (global_id, body)
    # nor another customer's badges, challenges or referral code through customer(id:)
    for global_id in hidden[1:]:
        body = await send(gql, CUSTOMER, {"id": global_id}, token)
        assert body.get("data") in (None, {"customer": None}), (global_id, body)


# -- bad input: userErrors whose field is the input field at fault ----------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_every_user_error_names_an_input_field_of_its_mutation(
    gql: GraphQLClient, db: Database
):
    # given: site A's objects, and an offer of site B
    a, b, ids = await two_sites(gql)
    offer_b = await b.offer("REWARD", name="B", valueType="FIXED_AMOUNT", value="1",
                            loyaltyPrice=10)  # fmt: skip
    site, ch = a.site_id, {"siteId": a.site_id, **CHALLENGE, "code": "c9"}
    board = {"siteId": site, **BOARD, "code": "b9"}
    # (mutation document, variables, the userErrors' fields and codes expected)
    cases: list[tuple[str, dict[str, Any], set[tuple[tuple[str, ...], str]]]] = [
        (g.CREATE_CHALLENGE, {"input": {**ch, "target": 0}},
         {(("input", "target"), "INVALID_VALUE")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "rollingDays": -1}},
         {(("input", "rollingDays"), "INVALID_VALUE")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "startsAt": "2026-02-01T00:00:00Z",
                                        "endsAt": "2026-01-01T00:00:00Z"}},
         {(("input", "endsAt"), "INVALID_VALUE")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "groups": [f"g{i}" for i in range(101)]}},
         {(("input", "groups"), "INVALID_VALUE")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "categories": ["shoes"]}},
         {(("input", "categories"), "INVALID_VALUE")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "tierIds": [_b64("Tier:1")]}},
         {(("input", "tierIds"), "NOT_FOUND")}),
        (g.CREATE_CHALLENGE, {"input": {**ch, "goalKind": "STREAK", "target": 3,
                                        "streakUnit": "MONTH",
                                        "startsAt": "2026-01-01T00:00:00Z",
                                        "endsAt": "2026-02-01T00:00:00Z"}},
         {(("input", "endsAt"), "INVALID_VALUE")}),
        (UPDATE_CHALLENGE, {"id": _b64("Challenge:999"), "input": {**ch, "code": "c1"}},
         {(("challengeId",), "NOT_FOUND")}),
        (CREATE_BOARD, {"input": {**board, "prizes": [{"fromRank": 1, "toRank": 1,
                                                       "offerId": offer_b}]}},
         {(("input", "prizes", "0", "offerId"), "NOT_FOUND")}),
        (CREATE_BOARD, {"input": {**board, "prizes": [{"fromRank": 1, "toRank": 1,
                                                       "points": -1}]}},
         {(("input", "prizes", "0", "points"), "INVALID_VALUE")}),
        (CREATE_BOARD, {"input": {**board, "prizes": [{"fromRank": 1, "toRank": 1}]}},
         {(("input", "prizes", "0"), "REQUIRED")}),
        (UPDATE_BOARD, {"input": {"leaderboardId": ids["board"],
                                  "prizes": [{"fromRank": 2, "toRank": 1, "points": 5},
                                             {"fromRank": 3, "toRank": 3, "points": 0}]}},
         {(("input", "prizes", "0", "toRank"), "INVALID_VALUE"),
          (("input", "prizes", "1"), "REQUIRED")}),
        # a customer token whose subject is no customer of the site
        (MY_PROFILE, {"input": {"birthDate": {"month": 1, "day": 2}}}, {((), "NOT_FOUND")}),
        (PROFILE, {"input": {"optIn": True, "displayName": "Ghost"}}, {((), "NOT_FOUND")}),
    ]  # fmt: skip
    rows = await counts(db)
    ghost = a.customer("ghost")
    wrong = []
    for query, variables, expected in cases:
        token = ghost if query in (MY_PROFILE, PROFILE) else a.admin
        # when
        name, payload = payload_of(await send(gql, query, variables, token))
        # then: refused, each problem at the input field at fault (every case is reported)
        got = {(tuple(e["field"]), e["code"]) for e in payload["userErrors"]}
        named = all(path_names_an_input_field(name, e["field"]) for e in payload["userErrors"])
        if got != expected or not named:
            wrong.append((name, sorted(got), sorted(expected)))
    assert wrong == []
    assert await counts(db) == rows


async def test_update_challenge_refuses_another_code_instead_of_ignoring_it(
    gql: GraphQLClient, db: Database
):
    # given: two challenges
    a, _, ids = await two_sites(gql)
    await g.challenge(a, **{**CHALLENGE, "code": "c2"})
    before = (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"]
    for code in ("c2", "renamed"):
        # when: c1's update names another code (an existing one, a new one)
        body = await send(
            gql, UPDATE_CHALLENGE,
            {"id": ids["challenge"],
             "input": {"siteId": a.site_id, **CHALLENGE, "code": code, "name": "Changed"}},
            a.admin,
        )  # fmt: skip
        # then: refused at the code, nothing changed (the name neither)
        _, payload = payload_of(body)
        assert payload["challenge"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "code"], "INVALID_VALUE")
        ]
    assert (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"] == before
    # and the same code, spaced, is the challenge's own: the update goes through
    body = await send(
        gql, UPDATE_CHALLENGE,
        {"id": ids["challenge"],
         "input": {"siteId": a.site_id, **CHALLENGE, "code": " c1 ", "target": 3}},
        a.admin,
    )  # fmt: skip
    assert payload_of(body)[1]["challenge"]["target"] == 3


HOSTILE_STRINGS = ["", " ", "\x00", "a\x00b", "\ud800", "x" * 10_000]
"""Refused wherever they go (blank, NUL, a lone surrogate, too long)."""
ODD_BUT_FINE = ["' OR 1=1 --", '"; DROP TABLE sites; --', "\u202etxt", "\U0001f600" * 5, "%_\\"]
"""Names as good as any: stored and shown as given."""
HOSTILE_DECIMALS = ["NaN", "-Infinity", "1e999", "1e-999", "-1", "9" * 400, "1,5", ""]
HOSTILE_INTS = [0, -1, 2**31 - 1, -(2**31)]
HOSTILE_IDS = [
    "", "garbage", "!!!", _b64("Campaign:0"), _b64("Campaign:-1"),
    _b64("Campaign:99999999999999999999"), _b64("Campaign:1.5"), _b64("Offer:1"), _b64(":1"),
    _b64("Campaign:1:2"), "\x00", "a" * 5000,
]  # fmt: skip


async def test_hostile_values_are_refused_with_codes_and_write_nothing(
    gql: GraphQLClient, db: Database
):
    # given: the two sites' objects and a copy of A's admin lists
    a, _, ids = await two_sites(gql)
    before = (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"]
    rows = await counts(db)
    ann, site = a.customer("ann"), a.site_id
    sends: list[tuple[str, dict[str, Any], str | None]] = []
    for s in HOSTILE_STRINGS:
        sends += [
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "name": s, "conditions": {"channels": [s], "badgeCodes": [s]}}}},
             a.admin),
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "effect": {"kind": "BADGE", "badgeCode": s}}}}, a.admin),
            (g.CREATE_BADGE_TYPE, {"input": {"siteId": site, "code": s, "name": s,
                                             "imageUrl": s}}, a.admin),
            (g.GRANT_BADGE, {"input": {"siteId": site, "customerId": a.customers["ann"],
                                       "badgeCode": s, "reason": s}}, a.admin),
            (g.CREATE_CHALLENGE, {"input": {"siteId": site, **CHALLENGE, "code": s, "name": s,
                                            "groups": [s]}}, a.admin),
            (CREATE_BOARD, {"input": {"siteId": site, **BOARD, "code": s, "name": s}}, a.admin),
            (UPDATE_BOARD, {"input": {"leaderboardId": ids["board"], "name": s}}, a.admin),
        ]  # fmt: skip
        if s.strip():  # a blank referral code is none, a blank display name an opt-out's
            sends += [
                (REGISTER, {"input": {"siteId": site, "externalId": "new", "referralCode": s}},
                 a.service),
                (ENROLL, {"input": {"referralCode": s}}, a.customer("amy")),
                (PROFILE, {"input": {"optIn": True, "displayName": s}}, ann),
            ]  # fmt: skip
    for n in HOSTILE_INTS:
        sends += [
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "priority": n, "effect": {"kind": "FIXED_POINTS", "points": n},
                "limits": {"perCustomer": n, "budgetPoints": n, "capPerOrder": n},
                "conditions": {"nthOrder": n, "weekdays": [n], "hours": {"start": n, "end": 1}}}}},
             a.admin),
            (CREATE_BOARD, {"input": {"siteId": site, **BOARD, "code": "n", "size": n,
                                      "neighbours": n, "minScore": n}}, a.admin),
            (g.CREATE_CHALLENGE, {"input": {"siteId": site, **CHALLENGE, "code": "n",
                                            "target": n, "rollingDays": n}}, a.admin),
            (MY_PROFILE, {"input": {"birthDate": {"month": n, "day": n, "year": n}}}, ann),
            (REGISTER, {"input": {"siteId": site, "externalId": "born",
                                  "birthDate": {"month": 2, "day": 30, "year": n}}}, a.service),
        ]  # fmt: skip
    for d in HOSTILE_DECIMALS:
        sends += [
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "effect": {"kind": "MULTIPLIER", "multiplier": d}}}}, a.admin),
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "effect": {"kind": "POINTS_PER_AMOUNT", "pointsPerAmount": d}}}},
             a.admin),
            (CREATE_CAMPAIGN, {"input": {"siteId": site, "campaign": {
                **CAMPAIGN, "conditions": {"minimumOrderValue": d, "minimumAmount": d}}}},
             a.admin),
        ]  # fmt: skip
    for bad in HOSTILE_IDS:
        sends += [
            (CAMPAIGN_ACTION.replace("{action}", "copyCampaign"), {"input": {"campaignId": bad}},
             a.admin),
            (UPDATE_BOARD, {"input": {"leaderboardId": bad, "name": "N"}}, a.admin),
            (UPDATE_CHALLENGE, {"id": bad, "input": {"siteId": site, **CHALLENGE}}, a.admin),
            (g.GRANT_BADGE, {"input": {"siteId": site, "customerId": bad, "badgeCode": "gold",
                                       "reason": "r"}}, a.admin),
            (g.PUBLISH_CHALLENGE, {"input": {"siteId": bad, "challengeId": ids["challenge"]}},
             a.admin),
        ]  # fmt: skip
    for query, variables, token in sends:
        # when
        body = await send(gql, query, variables, token)
        # then: a top-level error with a code (checked by send), or a payload that refuses
        if body.get("data") is None:
            continue
        name, payload = payload_of(body)
        assert payload["userErrors"], (name, variables, payload)
        assert all(e["code"] for e in payload["userErrors"])
        assert [v for k, v in payload.items() if k != "userErrors"] == [None], payload
        for error in payload["userErrors"]:
            assert path_names_an_input_field(name, error["field"]), (name, error)
    # and nothing was written
    assert (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"] == before
    assert await counts(db) == rows
    viewer = await send(gql, "{ viewer { birthDate { month } } }", {}, ann)
    assert viewer["data"] == {"viewer": {"birthDate": None}}
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


# -- retries -----------------------------------------------------------------------------------


async def test_retries_with_a_key_run_once_even_at_once_and_a_changed_request_is_refused(
    gql: GraphQLClient, db: Database
):
    a, _, ids = await two_sites(gql)
    site = a.site_id
    writes: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (CREATE_CAMPAIGN, {"siteId": site, "campaign": CAMPAIGN}, {"campaign": {**CAMPAIGN,
                                                                                "name": "D"}}),
        (CAMPAIGN_ACTION.replace("{action}", "copyCampaign"), {"campaignId": ids["campaign"]},
         {"campaignId": ids["campaign"], "idempotencyKey": "other-key-same-copy"}),
        (g.CREATE_BADGE_TYPE, {"siteId": site, "code": "silver", "name": "S"}, {"name": "T"}),
        (g.CREATE_CHALLENGE, {"siteId": site, **CHALLENGE, "code": "c5"}, {"name": "T"}),
        (CREATE_BOARD, {"siteId": site, **BOARD, "code": "b5"}, {"name": "T"}),
    ]  # fmt: skip
    for query, terms, changed in writes:
        rows = await counts(db)
        variables = {"input": {**terms, "idempotencyKey": f"key-{len(terms)}-{query[:40]}"}}
        # when: the same request six times at once, then once more
        bodies = await asyncio.gather(*[send(gql, query, variables, a.admin) for _ in range(6)])
        again = await send(gql, query, variables, a.admin)
        # then: one object, the same answer every time
        answers = {json.dumps(payload_of(b)[1], sort_keys=True) for b in [*bodies, again]}
        assert len(answers) == 1, answers
        assert payload_of(again)[1]["userErrors"] == []
        assert sum((await counts(db)).values()) == sum(rows.values()) + 1
        # and the key sent with another request is refused (unless it is another key)
        if "idempotencyKey" in changed:
            continue
        body = await send(gql, query, {"input": {**variables["input"], **changed}}, a.admin)
        name, payload = payload_of(body)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "idempotencyKey"], "IDEMPOTENCY_KEY_REUSED")
        ], (name, payload)


async def test_odd_but_valid_names_are_stored_and_shown_as_given(gql: GraphQLClient):
    a, _, ids = await two_sites(gql)
    for name in ODD_BUT_FINE:
        updates: list[tuple[str, dict[str, Any]]] = [
            (UPDATE_CAMPAIGN, {"input": {"campaignId": ids["campaign"],
                                         "campaign": {**CAMPAIGN, "name": name}}}),
            (UPDATE_BOARD, {"input": {"leaderboardId": ids["board"], "name": name}}),
            (UPDATE_BADGE_TYPE, {"input": {"siteId": a.site_id, "code": "gold", "name": name}}),
            (UPDATE_CHALLENGE, {"id": ids["challenge"],
                                "input": {"siteId": a.site_id, **CHALLENGE, "name": name}}),
        ]  # fmt: skip
        for query, variables in updates:
            _, payload = payload_of(await send(gql, query, variables, a.admin))
            assert payload["userErrors"] == [], payload
        lists = (await send(gql, ADMIN_LISTS, {"s": a.site_id}, a.admin))["data"]
        assert lists["campaigns"]["nodes"][0]["name"] == name
        assert [b["name"] for b in lists["leaderboards"]] == [name]
        assert [b["name"] for b in lists["badgeTypes"]] == [name]
        assert [c["name"] for c in lists["challenges"]] == [name]
        _, payload = payload_of(
            await send(gql, PROFILE, {"input": {"optIn": True, "displayName": name}},
                       a.customer("ann"))
        )  # fmt: skip
        if name.startswith("\u202e"):  # shown to other customers: no direction overrides
            assert payload["userErrors"][0]["code"] == "INVALID_VALUE", payload
        else:
            assert payload == {"profile": {"displayName": name, "optIn": True}, "userErrors": []}
