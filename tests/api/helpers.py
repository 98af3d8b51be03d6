"""Operations many API tests share, as module constants and small async helpers."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

CREATE_SITE = """
mutation CreateSite($input: CreateSiteInput!) {
  createSite(input: $input) {
    site { id code name program { enabled currencyCode } }
    userErrors { field code message }
  }
}
"""

CONFIGURE_PROGRAM = """
mutation Configure($input: ConfigureProgramInput!) {
  configureProgram(input: $input) {
    program {
      enabled currencyCode earnRate pointsRounding participation orderPointsPending
      validityPolicy validityDays expiryWarningDays version
      newsletterSignupPoints productReviewPoints referralPoints
      customActivities { code name points dailyCap }
      thresholdReward {
        enabled points valueType value validityDays
        minimumOrderValue { amount currencyCode }
      }
    }
    userErrors { field code message }
  }
}
"""

REGISTER_CUSTOMER = """
mutation Register($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    customer { id externalId email name groups marketingConsent enrolled enrolledAt }
    userErrors { field code message }
  }
}
"""


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
