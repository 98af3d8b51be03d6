"""CORS (#12): preflights and real requests from browser origins, through the ASGI app."""

from __future__ import annotations

import httpx
import pytest

from loyalty_gql.config import Settings

STOREFRONT = "https://shop.example"
OTHER = "https://evil.example"
TYPENAME = {"query": "{ __typename }"}


@pytest.fixture
def settings() -> Settings:
    """The app under test lets one storefront call it."""
    return Settings(env="test", cors_origins=[STOREFRONT])


def _preflight(origin: str, *, method: str = "POST", headers: str = "authorization,content-type"):
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": headers,
    }


def _listed(header: str) -> set[str]:
    return {part.strip() for part in header.split(",")}


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_a_preflight_from_a_listed_origin_is_allowed(http: httpx.AsyncClient):
    response = await http.options("/graphql", headers=_preflight(STOREFRONT))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == STOREFRONT
    assert {"authorization", "content-type", "accept"} <= _listed(
        response.headers["access-control-allow-headers"].lower()
    )
    assert {"GET", "POST"} <= _listed(response.headers["access-control-allow-methods"])
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


async def test_a_preflight_from_an_unlisted_origin_is_refused(http: httpx.AsyncClient):
    response = await http.options("/graphql", headers=_preflight(OTHER))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_for_another_method_or_header_is_refused(http: httpx.AsyncClient):
    delete = await http.options("/graphql", headers=_preflight(STOREFRONT, method="DELETE"))
    cookie = await http.options("/graphql", headers=_preflight(STOREFRONT, headers="x-shop-secret"))
    assert (delete.status_code, cookie.status_code) == (400, 400)


async def test_a_post_from_a_listed_origin_carries_the_allow_origin_header(
    http: httpx.AsyncClient,
):
    listed = await http.post("/graphql", json=TYPENAME, headers={"origin": STOREFRONT})
    unlisted = await http.post("/graphql", json=TYPENAME, headers={"origin": OTHER})
    assert listed.json()["data"] == {"__typename": "Query"}
    assert listed.headers["access-control-allow-origin"] == STOREFRONT
    assert "Origin" in listed.headers["vary"]
    # the server still answers; the browser withholds the body from the unlisted page
    assert unlisted.status_code == 200
    assert "access-control-allow-origin" not in unlisted.headers


async def test_requests_without_origin_are_served_as_before(http: httpx.AsyncClient):
    response = await http.post("/graphql", json=TYPENAME)
    options = await http.options("/graphql")
    assert response.json()["data"] == {"__typename": "Query"}
    assert _cors_headers(response) == {}
    # an OPTIONS that is not a preflight reaches the route, which serves GET and POST only
    assert options.status_code == 405


async def test_preflights_are_counted_by_the_metrics(http: httpx.AsyncClient):
    def counted(text: str, status: int) -> float:
        line = f'loyalty_http_requests_total{{path="/graphql",status="{status}"}} '
        found = [row for row in text.splitlines() if row.startswith(line)]
        return float(found[0].removeprefix(line)) if found else 0.0

    before = (await http.get("/metrics")).text
    await http.options("/graphql", headers=_preflight(STOREFRONT))
    await http.options("/graphql", headers=_preflight(OTHER))
    after = (await http.get("/metrics")).text
    assert counted(after, 200) - counted(before, 200) == 1
    assert counted(after, 400) - counted(before, 400) == 1


@pytest.mark.parametrize("settings", [Settings(env="test")])
async def test_without_configured_origins_there_are_no_cors_headers(http: httpx.AsyncClient):
    preflight = await http.options("/graphql", headers=_preflight(STOREFRONT))
    post = await http.post("/graphql", json=TYPENAME, headers={"origin": STOREFRONT})
    assert preflight.status_code == 405
    assert post.json()["data"] == {"__typename": "Query"}
    for response in (preflight, post):
        assert _cors_headers(response) == {}
        assert "vary" not in response.headers


@pytest.mark.parametrize("settings", [Settings(env="test", cors_origins=["*"])])
async def test_any_origin_without_credentials(http: httpx.AsyncClient):
    preflight = await http.options("/graphql", headers=_preflight(OTHER))
    post = await http.post("/graphql", json=TYPENAME, headers={"origin": OTHER})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert post.headers["access-control-allow-origin"] == "*"
    for response in (preflight, post):
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "settings",
    [Settings(env="test", cors_origins=[STOREFRONT], cors_allow_credentials=True, cors_max_age=60)],
)
async def test_credentials_and_max_age_follow_the_settings(http: httpx.AsyncClient):
    preflight = await http.options("/graphql", headers=_preflight(STOREFRONT))
    post = await http.post("/graphql", json=TYPENAME, headers={"origin": STOREFRONT})
    assert preflight.headers["access-control-max-age"] == "60"
    for response in (preflight, post):
        assert response.headers["access-control-allow-origin"] == STOREFRONT
        assert response.headers["access-control-allow-credentials"] == "true"


def test_any_origin_with_credentials_is_rejected_by_the_settings():
    with pytest.raises(ValueError, match="may not be"):
        Settings(env="test", cors_origins=["*"], cors_allow_credentials=True)
