"""The site's locale: the language and region notifications write money and dates in."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.support.shop import create_site

CONFIGURE = """
mutation($input: ConfigureProgramInput!) {
  configureProgram(input: $input) { program { locale } userErrors { field code } }
}
"""


async def test_a_site_writes_in_english_until_told_otherwise(gql: GraphQLClient) -> None:
    site_id = await create_site(gql, "shop-a")
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(CONFIGURE, {"input": {"siteId": site_id}}, token=admin)
    assert body["data"]["configureProgram"]["program"]["locale"] == "en"
    body = await gql.execute(
        CONFIGURE, {"input": {"siteId": site_id, "locale": " de_DE "}}, token=admin
    )
    assert body["data"]["configureProgram"] == {"program": {"locale": "de_DE"}, "userErrors": []}


async def test_an_unknown_locale_is_refused_and_nothing_changes(gql: GraphQLClient) -> None:
    site_id = await create_site(gql, "shop-a")
    admin = gql.token("admin", "shop-a")
    body = await gql.execute(
        CONFIGURE, {"input": {"siteId": site_id, "locale": "xx_YY"}}, token=admin
    )
    payload = body["data"]["configureProgram"]
    assert payload["program"] is None
    assert payload["userErrors"] == [{"field": ["input", "locale"], "code": "INVALID_VALUE"}]
    body = await gql.execute(CONFIGURE, {"input": {"siteId": site_id, "locale": None}}, token=admin)
    assert body["data"]["configureProgram"]["userErrors"][0]["code"] == "REQUIRED"
    body = await gql.execute(CONFIGURE, {"input": {"siteId": site_id}}, token=admin)
    assert body["data"]["configureProgram"]["program"]["locale"] == "en"
