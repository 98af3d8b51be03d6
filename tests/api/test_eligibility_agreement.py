"""My offers and redeemOffer agree (#13, one eligibility rule list): over a table of
customers x offers that covers every refusal, the site's exchange limits included,
what My offers says (canRedeem, reason, reasonMessage) is what redeemOffer then does."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.support.operations import (
    ASSIGN_OFFER,
    CONFIGURE_PROGRAM,
    CREATE_OFFER,
    CREATE_TIER,
    GRANT_POINTS,
    LEAVE_PROGRAM,
    PUBLISH_OFFER,
)
from tests.support.shop import create_site, register

SITE = "shop-a"

CONFIGURE_EXCHANGES = """
mutation($input: ConfigureProgramInput!) {
  configureProgram(input: $input) { userErrors { field code } }
}
"""
MY_OFFERS = """
query {
  viewer {
    tier { name }
    offers(first: 50) { edges { node { offer { name } canRedeem reason reasonMessage } } }
  }
}
"""
REDEEM = """
mutation($input: RedeemOfferInput!) {
  redeemOffer(input: $input) {
    customer { id }
    voucher { code }
    userErrors { field code message }
  }
}
"""

# ann: vip, Gold (3000 earned), rich; bob: no group, no tier; cid: vip, 50 points;
# dee: vip and Gold, then leaves the program
CUSTOMERS = {
    "ann": (["vip"], 3000),
    "bob": ([], 1000),
    "cid": (["vip"], 50),
    "dee": (["vip"], 3000),
}
REWARD = {"valueType": "PERCENT", "value": "5", "loyaltyPrice": 100}
# the site exchanges points for products only with vip customers, only under home/
EXCHANGE = {"valueType": "FREE_ITEM", "loyaltyPrice": 100, "exchangeProductId": "p-1"}
GOLD = "<gold tier>"  # replaced with the tier's id
OFFERS: dict[str, tuple[str, dict[str, Any]]] = {
    "plain": ("REWARD", REWARD),
    "cheap": ("REWARD", {**REWARD, "loyaltyPrice": 10}),
    "minimum": ("REWARD", {**REWARD, "minimumOrderValue": "50"}),  # checkout's rule only
    "coupon": ("COUPON", REWARD),
    "not-started": ("REWARD", {**REWARD, "validFrom": "2026-06-01T00:00:00Z"}),
    "ended": ("REWARD", {**REWARD, "validUntil": "2026-01-01T00:00:00Z"}),
    "vip": ("REWARD", {**REWARD, "customerGroups": ["vip"]}),
    "gold": ("REWARD", {**REWARD, "tierIds": [GOLD]}),
    "fans": ("REWARD", {**REWARD, "badgeCodes": ["fan"]}),  # ann and cid hold the badge
    "used-up": ("REWARD", {**REWARD, "maxUses": 1}),  # ann bought the one
    "once": ("REWARD", {**REWARD, "maxUsesPerCustomer": 1}),  # ann bought hers
    "dear": ("REWARD", {**REWARD, "loyaltyPrice": 5000}),
    "mug": ("REWARD", {**EXCHANGE, "scope": "CATEGORY", "targets": ["home/kitchen"]}),
    "lamp": ("REWARD", {**EXCHANGE, "scope": "CATEGORY", "targets": ["home"]}),
    "spade": ("REWARD", {**EXCHANGE, "scope": "CATEGORY", "targets": ["garden"]}),
    "towel": ("REWARD", {**EXCHANGE, "scope": "CATEGORY", "targets": ["homeware"]}),
    "parcel": ("REWARD", EXCHANGE),  # order-wide: in no category
    "card": ("PUNCHCARD", {"valueType": "FREE_ITEM", "punchesRequired": 5}),  # given to all
    "club": ("CLUBCARD", {"valueType": "PERCENT", "value": "5", "membershipFeePoints": 200}),
    "draft": ("REWARD", REWARD),  # never published
}
OK = "OK"
NOT_LISTED = "-"
BY_GROUP = "EXCHANGE_NOT_ALLOWED (group)"
BY_CATEGORY = "EXCHANGE_NOT_ALLOWED (category)"
POOR = "INSUFFICIENT_POINTS"
LEFT = "NOT_ENROLLED"
LATER = "OFFER_NOT_STARTED"
ENDED = "OFFER_EXPIRED"
USED_UP = "USAGE_LIMIT_REACHED"
HAD_IT = "CUSTOMER_LIMIT_REACHED"
# What both My offers and redeemOffer answer, checked pair by pair in this order (so
# "once" is bought by bob after ann's purchase in the setup, and so on).
EXPECTED = {
    #              ann             bob             cid             dee
    "plain":       (OK,            OK,             POOR,           LEFT),
    "cheap":       (OK,            OK,             OK,             LEFT),
    "minimum":     (OK,            OK,             POOR,           LEFT),
    "coupon":      (OK,            OK,             POOR,           LEFT),
    "not-started": (LATER,         LATER,          LATER,          LEFT),
    "ended":       (ENDED,         ENDED,          ENDED,          LEFT),
    "vip":         (OK,            "NOT_IN_GROUP", POOR,           LEFT),
    "gold":        (OK,            "NOT_IN_TIER",  "NOT_IN_TIER",  LEFT),
    "fans":        (OK,            "BADGE_REQUIRED", POOR,         LEFT),
    "used-up":     (USED_UP,       USED_UP,        USED_UP,        LEFT),
    "once":        (HAD_IT,        OK,             POOR,           LEFT),
    "dear":        (POOR,          POOR,           POOR,           LEFT),
    "mug":         (OK,            BY_GROUP,       POOR,           LEFT),
    "lamp":        (OK,            BY_GROUP,       POOR,           LEFT),
    "spade":       (BY_CATEGORY,   BY_GROUP,       BY_CATEGORY,    LEFT),
    "towel":       (BY_CATEGORY,   BY_GROUP,       BY_CATEGORY,    LEFT),
    "parcel":      (BY_CATEGORY,   BY_GROUP,       BY_CATEGORY,    LEFT),
    "card":        ("NOT_FOR_SALE", "NOT_FOR_SALE", "NOT_FOR_SALE", LEFT),
    # a clubcard with a fee is sold, so listed; ann bought it, bob was given it
    "club":        (HAD_IT,        HAD_IT,         POOR,           LEFT),
    "draft":       (NOT_LISTED,    NOT_LISTED,     NOT_LISTED,     NOT_LISTED),
}  # fmt: skip
MESSAGES = {
    BY_GROUP: "the site exchanges points for products only with customers of its exchange groups",
    BY_CATEGORY: "the site does not exchange points for products in this category",
}


async def _world(gql: GraphQLClient) -> tuple[str, dict[str, str], dict[str, str]]:
    """The site, its customers and offers of the tables above; returns their ids."""
    site_id = await create_site(gql, SITE)
    admin = gql.token("admin", SITE)
    configured = await gql.execute(
        CONFIGURE_EXCHANGES,
        {"input": {"siteId": site_id, "exchangeCustomerGroups": ["vip"],
                   "exchangeCategories": ["home"]}},
        token=admin,
    )  # fmt: skip
    assert configured["data"]["configureProgram"]["userErrors"] == []
    tier = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": site_id, "name": "Gold", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 2000}},
        token=admin,
    )  # fmt: skip
    gold = tier["data"]["createTier"]["tier"]["id"]
    customers = {}
    for name, (groups, points) in CUSTOMERS.items():
        who = await register(gql, SITE, site_id, name, enroll=True, groups=groups)
        customers[name] = who["id"]
        granted = await gql.execute(
            GRANT_POINTS, {"input": {"customerId": who["id"], "points": points, "reason": "t"}},
            token=admin,
        )  # fmt: skip
        assert granted["data"]["grantPoints"]["userErrors"] == []
    await _badge_fans(gql, site_id, [customers["ann"], customers["cid"]])
    offers = {}
    for name, (kind, given) in OFFERS.items():
        terms = {**given, "name": name}
        if terms.get("tierIds") == [GOLD]:
            terms["tierIds"] = [gold]
        body = await gql.execute(
            CREATE_OFFER, {"input": {"siteId": site_id, "kind": kind, "terms": terms}}, token=admin
        )
        assert body["data"]["createOffer"]["userErrors"] == [], name
        offers[name] = body["data"]["createOffer"]["offer"]["id"]
        if name != "draft":
            await gql.execute(PUBLISH_OFFER, {"input": {"offerId": offers[name]}}, token=admin)
    await _assign(gql, offers["card"], list(customers.values()))
    await _assign(gql, offers["club"], [customers["bob"]])
    for bought in ("used-up", "once", "club"):
        assert (await _redeem(gql, "ann", offers[bought]))["userErrors"] == []
    left = await gql.execute(
        LEAVE_PROGRAM, {"input": {"customerId": customers["dee"]}}, token=gql.token("service", SITE)
    )
    assert left["data"]["leaveProgram"]["userErrors"] == []
    return site_id, customers, offers


async def _badge_fans(gql: GraphQLClient, site_id: str, customer_ids: list[str]) -> None:
    """The badge "fan", granted to these customers by the admin."""
    admin = gql.token("admin", SITE)
    body = await gql.execute(
        "mutation($i: BadgeTypeInput!) { createBadgeType(input: $i) { userErrors { code } } }",
        {"i": {"siteId": site_id, "code": "fan", "name": "Fan"}},
        token=admin,
    )
    assert body["data"]["createBadgeType"]["userErrors"] == []
    for customer_id in customer_ids:
        body = await gql.execute(
            "mutation($i: BadgeGrantInput!) { grantBadge(input: $i) { userErrors { code } } }",
            {"i": {"siteId": site_id, "customerId": customer_id, "badgeCode": "fan",
                   "reason": "a fan"}},
            token=admin,
        )  # fmt: skip
        assert body["data"]["grantBadge"]["userErrors"] == []


async def _assign(gql: GraphQLClient, offer_id: str, customer_ids: list[str]) -> None:
    body = await gql.execute(
        ASSIGN_OFFER,
        {"input": {"offerId": offer_id, "customerIds": customer_ids}},
        token=gql.token("admin", SITE),
    )
    assert body["data"]["assignOffer"]["assignedCount"] == len(customer_ids)


async def _page(gql: GraphQLClient, customer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer's tier and My offers by offer name."""
    body = await gql.execute(MY_OFFERS, token=gql.token("customer", SITE, subject=customer))
    viewer = body["data"]["viewer"]
    return viewer["tier"], {
        e["node"]["offer"]["name"]: e["node"] for e in viewer["offers"]["edges"]
    }


async def _redeem(gql: GraphQLClient, customer: str, offer_id: str) -> dict[str, Any]:
    body = await gql.execute(
        REDEEM,
        {"input": {"offerId": offer_id}},
        token=gql.token("customer", SITE, subject=customer),
    )
    payload: dict[str, Any] = body["data"]["redeemOffer"]
    return payload


def _label(code: str | None, message: str | None) -> str:
    """A cell of EXPECTED: OK, the code, or which of the site's exchange limits refused."""
    if code is None:
        return OK
    if code == "EXCHANGE_NOT_ALLOWED":
        return BY_GROUP if message == MESSAGES[BY_GROUP] else BY_CATEGORY
    return code


def _shown(item: dict[str, Any] | None) -> str:
    """What My offers says of an offer, as a cell."""
    if item is None:
        return NOT_LISTED
    if item["canRedeem"] != (item["reason"] is None):
        return f"canRedeem {item['canRedeem']} with reason {item['reason']}"
    return _label(item["reason"], item["reasonMessage"])


def _done(offer: str, payload: dict[str, Any]) -> str:
    """What redeemOffer did, as a cell: OK is a voucher (a clubcard: the membership)."""
    errors = payload["userErrors"]
    if not errors:
        voucher_expected = offer != "club"
        bought = (payload["voucher"] is not None) == voucher_expected
        return OK if bought and payload["customer"] is not None else f"bought {payload}"
    if len(errors) > 1:
        return f"{len(errors)} errors"
    return _label(errors[0]["code"], errors[0]["message"])


async def test_my_offers_says_what_redeem_offer_does_for_every_customer_and_offer(
    gql: GraphQLClient,
):
    # given: 4 customers x 20 offers covering every refusal (the clock stands at 2026-01-15)
    _, _, offers = await _world(gql)
    assert [(await _page(gql, name))[0] for name in CUSTOMERS] == [
        {"name": "Gold"}, None, None, {"name": "Gold"},
    ]  # fmt: skip
    shown: dict[str, list[str]] = {offer: [] for offer in EXPECTED}
    done: dict[str, list[str]] = {offer: [] for offer in EXPECTED}
    words: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for customer in CUSTOMERS:
        for offer in EXPECTED:
            # when: the customer looks at My offers, then buys what it lists
            _, page = await _page(gql, customer)
            item = page.get(offer)
            shown[offer].append(_shown(item))
            if item is None:
                done[offer].append(NOT_LISTED)
                continue
            bought = await _redeem(gql, customer, offers[offer])
            done[offer].append(_done(offer, bought))
            said = [e["message"] for e in bought["userErrors"]] or [None]
            words[customer, offer] = (item["reasonMessage"], said[0])
    # then: the page and the purchase agree, in codes and in words, and say the table
    assert shown == done
    assert {pair: page for pair, (page, _) in words.items()} == {
        pair: purchase for pair, (_, purchase) in words.items()
    }
    assert {offer: tuple(row) for offer, row in shown.items()} == EXPECTED
    assert {cell for row in EXPECTED.values() for cell in row} == {
        OK, NOT_LISTED, BY_GROUP, BY_CATEGORY, POOR, LEFT, LATER, ENDED, USED_UP, HAD_IT,
        "NOT_IN_GROUP", "NOT_IN_TIER", "BADGE_REQUIRED", "NOT_FOR_SALE",
    }  # fmt: skip


async def test_with_the_program_off_every_listed_offer_is_refused_alike(gql: GraphQLClient):
    # given: the same site and customers, then the program is switched off
    site_id, _, offers = await _world(gql)
    switched = await gql.execute(
        CONFIGURE_PROGRAM, {"input": {"siteId": site_id, "enabled": False}},
        token=gql.token("admin", SITE),
    )  # fmt: skip
    assert switched["data"]["configureProgram"]["userErrors"] == []
    for customer in CUSTOMERS:
        # when
        _, page = await _page(gql, customer)
        answers = {
            offer: (await _redeem(gql, customer, offers[offer]))["userErrors"] for offer in page
        }
        # then
        refused = (False, "PROGRAM_DISABLED")
        assert {o: (n["canRedeem"], n["reason"]) for o, n in page.items()} == dict.fromkeys(
            page, refused
        )
        assert {o: tuple(e["code"] for e in errors) for o, errors in answers.items()} == (
            dict.fromkeys(page, ("PROGRAM_DISABLED",))
        )
        assert {n["reasonMessage"] for n in page.values()} == {
            e["message"] for errors in answers.values() for e in errors
        }
        assert len(page) == 19
