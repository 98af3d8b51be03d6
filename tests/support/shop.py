"""The one shop driver: a site set up and used through the GraphQL API, as its admin, its
shop backend (service token) and its customers would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from tests.support.operations import (
    ASSIGN_OFFER,
    CHECKOUT,
    CONFIGURE_PROGRAM,
    CREATE_OFFER,
    CREATE_SITE,
    CUSTOMER_BALANCE,
    GENERATE_COUPON_CODES,
    GRANT_POINTS,
    OFFER_ACTION,
    ORDER,
    RECORD_ORDER,
    REDEEM_OFFER,
    REGISTER_CUSTOMER,
    SET_STACKING_GROUP,
)

if TYPE_CHECKING:
    from tests.conftest import GraphQLClient


async def create_site(
    gql: GraphQLClient, code: str, *, enabled: bool = True, currency: str = "EUR"
) -> str:
    """Create a site as its admin and switch its program on; returns the site's ID."""
    admin = gql.token("admin", code)
    body = await gql.execute(
        CREATE_SITE,
        {"input": {"code": code, "name": f"Shop {code}", "currencyCode": currency}},
        token=admin,
    )
    payload = body["data"]["createSite"]
    assert payload["userErrors"] == []
    site_id: str = payload["site"]["id"]
    if enabled:
        body = await gql.execute(
            CONFIGURE_PROGRAM, {"input": {"siteId": site_id, "enabled": True}}, token=admin
        )
        assert body["data"]["configureProgram"]["userErrors"] == []
    return site_id


async def register(
    gql: GraphQLClient, site_code: str, site_id: str, external_id: str, **fields: Any
) -> dict[str, Any]:
    """Register a customer with the site's service token; returns the customer."""
    service = gql.token("service", site_code)
    body = await gql.execute(
        REGISTER_CUSTOMER,
        {"input": {"siteId": site_id, "externalId": external_id, **fields}},
        token=service,
    )
    payload = body["data"]["registerCustomer"]
    assert payload["userErrors"] == [], payload
    customer: dict[str, Any] = payload["customer"]
    return customer


def line(
    product: str, quantity: int, price: str, category: str = "", **extra: Any
) -> dict[str, Any]:
    """A basket line as the API takes it."""
    return {
        "productId": product, "quantity": quantity, "unitPrice": price, "category": category,
        **extra,
    }  # fmt: skip


class Shop:
    """One site driven through the API: program, customers, offers, checkout and orders.

    Customers are named by their external id (``"ann"``); ``customers`` maps it to the
    customer's global ID once registered.
    """

    def __init__(self, gql: GraphQLClient, site_id: str, code: str = "shop-a") -> None:
        self.gql = gql
        self.site_id = site_id
        self.code = code
        self.admin = gql.token("admin", code)
        self.service = gql.token("service", code)
        self.customers: dict[str, str] = {}

    @classmethod
    async def open(cls, gql: GraphQLClient, code: str = "shop-a", **settings: Any) -> Self:
        """A new site with its program on (and configured with ``settings``, if any)."""
        shop = cls(gql, await create_site(gql, code), code)
        if settings:
            await shop.configure(**settings)
        return shop

    def customer(self, external_id: str) -> str:
        """A token of the customer ``external_id``."""
        return self.gql.token("customer", self.code, subject=external_id)

    async def configure(self, **changes: Any) -> None:
        """configureProgram with ``changes``."""
        body = await self.gql.execute(
            CONFIGURE_PROGRAM, {"input": {"siteId": self.site_id, **changes}}, token=self.admin
        )
        assert body["data"]["configureProgram"]["userErrors"] == [], body

    async def register(self, external_id: str, **fields: Any) -> str:
        """registerCustomer; the customer's global ID."""
        customer = await register(self.gql, self.code, self.site_id, external_id, **fields)
        customer_id: str = customer["id"]
        self.customers[external_id] = customer_id
        return customer_id

    async def offer(self, kind: str, *, publish: bool = True, **terms: Any) -> str:
        """A new offer's global ID (published unless told otherwise)."""
        body = await self.gql.execute(
            CREATE_OFFER,
            {"input": {"siteId": self.site_id, "kind": kind, "terms": terms}},
            token=self.admin,
        )
        payload = body["data"]["createOffer"]
        assert payload["userErrors"] == [], payload
        offer_id: str = payload["offer"]["id"]
        if publish:
            await self.act("publishOffer", offer_id)
        return offer_id

    async def act(self, action: str, offer_id: str) -> None:
        """publishOffer, unpublishOffer or deleteOffer."""
        body = await self.gql.execute(
            OFFER_ACTION.replace("{action}", action),
            {"input": {"offerId": offer_id}},
            token=self.admin,
        )
        assert body["data"][action]["userErrors"] == [], body

    async def assign(self, offer_id: str, *external_ids: str) -> None:
        """assignOffer to these customers."""
        ids = [self.customers[e] for e in external_ids]
        body = await self.gql.execute(
            ASSIGN_OFFER, {"input": {"offerId": offer_id, "customerIds": ids}}, token=self.admin
        )
        payload = body["data"]["assignOffer"]
        assert payload["userErrors"] == [], payload
        assert payload["assignedCount"] == len(set(ids)), payload

    async def codes(self, offer_id: str, count: int) -> list[str]:
        """generateCouponCodes; the codes."""
        body = await self.gql.execute(
            GENERATE_COUPON_CODES, {"input": {"offerId": offer_id, "count": count}},
            token=self.admin,
        )  # fmt: skip
        codes: list[str] = body["data"]["generateCouponCodes"]["codes"]
        return codes

    async def grant(self, external_id: str, points: int) -> None:
        """grantPoints as the admin."""
        body = await self.gql.execute(
            GRANT_POINTS,
            {"input": {"customerId": self.customers[external_id], "points": points,
                       "reason": "test"}},
            token=self.admin,
        )  # fmt: skip
        assert body["data"]["grantPoints"]["userErrors"] == []

    async def voucher(self, external_id: str, reward_id: str) -> str:
        """A voucher the customer buys with points (redeemOffer); its code."""
        body = await self.gql.execute(
            REDEEM_OFFER, {"input": {"offerId": reward_id}}, token=self.customer(external_id)
        )
        payload = body["data"]["redeemOffer"]
        assert payload["userErrors"] == [], payload
        code: str = payload["voucher"]["code"]
        return code

    async def stacking(self, name: str, mode: str) -> None:
        """setStackingGroup."""
        body = await self.gql.execute(
            SET_STACKING_GROUP, {"input": {"siteId": self.site_id, "name": name, "mode": mode}},
            token=self.admin,
        )  # fmt: skip
        assert body["data"]["setStackingGroup"]["userErrors"] == []

    def basket(self, customer: str | None, **basket: Any) -> dict[str, Any]:
        """A checkout or recordOrder input for ``customer`` (an external id) or a guest."""
        ids = {"customerId": self.customers[customer]} if customer else {}
        return {"siteId": self.site_id, **ids, **basket}

    async def checkout(self, customer: str | None, **basket: Any) -> dict[str, Any]:
        """checkout as the shop backend; the quote."""
        body = await self.gql.execute(
            CHECKOUT, {"input": self.basket(customer, **basket)}, token=self.service
        )
        quote: dict[str, Any] = body["data"]["checkout"]
        return quote

    async def quote(
        self, lines: list[dict[str, Any]], *, token: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """checkout with ``token`` (none: a guest storefront); the quote."""
        body = await self.gql.execute(
            CHECKOUT, {"input": {"siteId": self.site_id, "lines": lines, **extra}}, token=token
        )
        quote: dict[str, Any] = body["data"]["checkout"]
        return quote

    async def quote_error(
        self, lines: list[dict[str, Any]], *, token: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """checkout that must fail with one top-level error; the error."""
        body = await self.gql.execute(
            CHECKOUT,
            {"input": {"siteId": self.site_id, "lines": lines, **extra}},
            token=token,
            expect_errors=True,
        )
        assert body["data"] is None, body
        [error] = body["errors"]
        assert isinstance(error, dict)
        return error

    async def record(
        self, order_id: str, customer: str | None, *, token: str | None = None, **basket: Any
    ) -> dict[str, Any]:
        """recordOrder (as the shop backend unless ``token``); the payload."""
        body = await self.gql.execute(
            RECORD_ORDER,
            {"input": {"orderId": order_id, **self.basket(customer, **basket)}},
            token=token or self.service,
        )
        payload: dict[str, Any] = body["data"]["recordOrder"]
        return payload

    async def step(self, mutation: str, order_id: str, **extra: Any) -> dict[str, Any]:
        """completeOrder, cancelOrder or refundOrder (or another mutation on an order)."""
        body = await self.gql.execute(
            mutation,
            {"input": {"siteId": self.site_id, "orderId": order_id, **extra}},
            token=self.service,
        )
        [payload] = body["data"].values()
        assert isinstance(payload, dict)
        return payload

    async def order(self, order_id: str) -> dict[str, Any]:
        """The order, as the shop backend reads it."""
        body = await self.gql.execute(ORDER, {"s": self.site_id, "o": order_id}, token=self.service)
        order: dict[str, Any] = body["data"]["order"]
        return order

    async def balance(self, external_id: str) -> dict[str, int]:
        """The customer's balance, as the admin reads it."""
        body = await self.gql.execute(
            CUSTOMER_BALANCE, {"id": self.customers[external_id]}, token=self.admin
        )
        balance: dict[str, int] = body["data"]["customer"]["balance"]
        return balance

    async def vouchers(self, external_id: str) -> dict[str, str]:
        """The customer's vouchers: code -> status."""
        body = await self.gql.execute(
            CUSTOMER_BALANCE, {"id": self.customers[external_id]}, token=self.admin
        )
        return {v["code"]: v["status"] for v in body["data"]["customer"]["vouchers"]}
