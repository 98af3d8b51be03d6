"""Badges and campaigns (issue #18 on #17): a campaign grants a badge as its effect, the
badge then opens an offer limited to its holders, and a campaign may be limited to the
holders of a badge; the quote and recordOrder agree on both."""

from __future__ import annotations

from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.services.gamification.verify import verify_gamification
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.test_campaigns import (
    CREATE,
    campaign,
    open_shop,
    points_of,
    quoted_and_recorded,
    reasons_of,
)
from tests.conftest import GraphQLClient
from tests.support.gamification import badge_type, events_of, grant, my_badges
from tests.support.operations import CANCEL_ORDER
from tests.support.shop import Shop, line

REDEEM = "mutation($i: RedeemOfferInput!) { redeemOffer(input: $i) { userErrors { code } } }"
BASKET: dict[str, Any] = {"lines": [line("boots", 1, "60.00", "shoes")]}


async def _redeem(shop: Shop, who: str, offer_id: str) -> list[dict[str, Any]]:
    body = await shop.gql.execute(REDEEM, {"i": {"offerId": offer_id}}, token=shop.customer(who))
    errors: list[dict[str, Any]] = body["data"]["redeemOffer"]["userErrors"]
    return errors


async def test_a_badge_granted_by_a_campaign_opens_an_offer_for_its_holders(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a "Shoe lover" badge for an order with shoes, and a reward for its holders
    shop = await open_shop(gql)
    await shop.register("bob", enroll=True)
    await badge_type(shop, "shoe-lover")
    await campaign(
        shop, name="Shoe lover", trigger="ORDER",
        effect={"kind": "BADGE", "badgeCode": "shoe-lover"}, conditions={"categories": ["shoes"]},
    )  # fmt: skip
    reward = await shop.offer(
        "REWARD", name="Shoe polish", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=10,
        badgeCodes=["shoe-lover"],
    )  # fmt: skip
    # when: ann's order with shoes is quoted and recorded
    quoted = await quoted_and_recorded(shop, "o-1", "ann", **BASKET)
    # then: the campaign applied (no points of its own), ann holds the badge, once
    assert points_of(quoted) == [("Shoe lover", 0)]
    assert [(b["code"], b["state"]) for b in await my_badges(shop, "ann")] == [
        ("shoe-lover", "EARNED")
    ]
    [earned] = await events_of(db, "BADGE_EARNED")
    assert earned["badge_code"] == "shoe-lover"
    # and: the badge opens the reward to ann, not to bob
    assert await _redeem(shop, "ann", reward) == []
    assert await _redeem(shop, "bob", reward) == [{"code": "BADGE_REQUIRED"}]
    # when: ann's next order with shoes, the campaign says she holds it already
    again = await quoted_and_recorded(shop, "o-2", "ann", **BASKET)
    assert reasons_of(again) == [("Shoe lover", "BADGE_HELD")]
    assert len(await events_of(db, "BADGE_EARNED")) == 1
    # when: the first order is cancelled, the badge stays (documented)
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    assert [b["state"] for b in await my_badges(shop, "ann")] == ["EARNED"]
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


async def test_a_campaign_for_badge_holders_only(gql: GraphQLClient, db: Database) -> None:
    # given: double points for VIPs; ann is one, bob is not
    shop = await open_shop(gql)
    await shop.register("bob", enroll=True)
    await badge_type(shop, "vip")
    assert (await grant(shop, "ann", "vip", reason="our best"))["userErrors"] == []
    await campaign(
        shop, name="VIP double", trigger="ORDER",
        effect={"kind": "MULTIPLIER", "multiplier": "2"}, conditions={"badgeCodes": ["vip"]},
    )  # fmt: skip
    # when
    ann = await quoted_and_recorded(shop, "o-1", "ann", **BASKET)
    bob = await quoted_and_recorded(shop, "o-2", "bob", **BASKET)
    # then: 60 more for ann, and bob is told why not
    assert points_of(ann) == [("VIP double", 60)]
    assert (bob["campaignPoints"], reasons_of(bob)) == (0, [("VIP double", "NO_BADGE")])
    assert await verify_ledger(db) == []


async def test_a_campaign_names_badges_of_its_site_only(gql: GraphQLClient) -> None:
    shop = await open_shop(gql)
    for terms, field in (
        ({"effect": {"kind": "BADGE", "badgeCode": "nope"}}, ["effect", "badgeCode"]),
        ({"effect": {"kind": "BADGE"}}, ["effect", "badgeCode"]),
        (
            {
                "effect": {"kind": "FIXED_POINTS", "points": 5},
                "conditions": {"badgeCodes": ["nope"]},
            },
            ["conditions", "badgeCodes"],
        ),
    ):
        body = await gql.execute(
            CREATE,
            {"input": {"siteId": shop.site_id,
                       "campaign": {"name": "x", "trigger": "ORDER", **terms}}},
            token=shop.admin,
        )  # fmt: skip
        payload = body["data"]["createCampaign"]
        assert payload["campaign"] is None
        assert [e["field"][2:] for e in payload["userErrors"]] == [field], payload
