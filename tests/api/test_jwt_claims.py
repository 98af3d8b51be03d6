"""Signed tokens with absurd claims are a 401 with a clear message, never a 500.

The tokens are signed with the right secret: only the claims are hostile, so every
check after the signature has to hold on its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import jwt
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from loyalty_gql.api.auth import AuthenticationError, Principal, Role, TokenVerifier
from loyalty_gql.config import Settings
from tests.api.jwt_helpers import ADMIN_CLAIMS, FAR_FUTURE, hs256, raw_claims
from tests.conftest import GraphQLClient
from tests.support.shop import create_site, register

SERVICE_CLAIMS = {**ADMIN_CLAIMS, "role": '"service"', "sites": None, "site": '"shop-a"'}
TIME_MESSAGE = "must be a number of seconds since 1970, before year 10000"
TEXT_MESSAGE = "must be text of 1-255 characters (no NUL, no lone surrogates)"
SUB_MESSAGE = "must be text of 1-190 characters (no NUL, no lone surrogates)"


@pytest.fixture
def settings() -> Settings:
    """The test settings without rate limits (LOYALTY_HOSTILE_EXAMPLES may send thousands)."""
    return Settings(env="test", rate_limit_requests=0, rate_limit_cost=0)


def principal(payload: str) -> Principal:
    return TokenVerifier(Settings(env="test")).principal(f"Bearer {hs256(payload)}")


def refusal(payload: str) -> str:
    with pytest.raises(AuthenticationError) as refused:
        principal(payload)
    return str(refused.value)


BIG_INTEGER = "1" + "0" * 400

HOSTILE = [
    # exp, nbf, iat: JSON infinity, NaN, 400-digit integers, year 10000, booleans, strings
    ({"exp": "1e400"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "-1e400"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "NaN"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": BIG_INTEGER}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "1e300"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "253402300800"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "true"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": f'"{FAR_FUTURE}"'}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "[]"}, f"'exp' {TIME_MESSAGE}"),
    ({"exp": "{}"}, f"'exp' {TIME_MESSAGE}"),
    ({"nbf": "1e400"}, f"'nbf' {TIME_MESSAGE}"),
    ({"nbf": "-1"}, f"'nbf' {TIME_MESSAGE}"),
    ({"nbf": '"0"'}, f"'nbf' {TIME_MESSAGE}"),
    ({"nbf": "null"}, f"'nbf' {TIME_MESSAGE}"),
    ({"iat": "Infinity"}, f"'iat' {TIME_MESSAGE}"),
    ({"iat": "false"}, f"'iat' {TIME_MESSAGE}"),
    ({"iat": BIG_INTEGER}, f"'iat' {TIME_MESSAGE}"),
    # the times themselves
    ({"exp": "1000000000"}, "it has expired"),
    ({"nbf": str(FAR_FUTURE - 1)}, "it is not valid yet ('nbf')"),
    ({"iat": str(FAR_FUTURE - 1)}, "it was issued in the future ('iat')"),
    ({"exp": None}, 'Token is missing the "exp" claim'),
    # sub: PyJWT wants a string; then 1-190 characters without NUL (it is recorded as
    # "<role>:<sub>" in 200-character actor columns)
    ({"sub": "{}"}, "Subject must be a string"),
    ({"sub": '["a"]'}, "Subject must be a string"),
    ({"sub": "42"}, "Subject must be a string"),
    ({"sub": "null"}, 'Token is missing the "sub" claim'),
    ({"sub": '""'}, f"'sub' {SUB_MESSAGE}"),
    ({"sub": '"' + "x" * 191 + '"'}, f"'sub' {SUB_MESSAGE}"),
    ({"sub": '"ann\\u0000"'}, f"'sub' {SUB_MESSAGE}"),
    ({"sub": '"\\ud800"'}, f"'sub' {SUB_MESSAGE}"),
    # role: not a string, not a role
    ({"role": '["admin"]'}, "unknown role"),
    ({"role": '{"admin": true}'}, "unknown role"),
    ({"role": "1"}, "unknown role"),
    ({"role": '"root"'}, "unknown role"),
    ({"role": '"anonymous"'}, "anonymous is not a role for tokens"),
    # sites of an admin
    ({"sites": '"shop-a"'}, "an admin token lists its sites (at most 1000) in 'sites'"),
    ({"sites": "null"}, "an admin token lists its sites (at most 1000) in 'sites'"),
    ({"sites": json.dumps([f"s{i}" for i in range(1001)])}, "(at most 1000)"),
    ({"sites": '["shop-a", 1]'}, f"'sites' {TEXT_MESSAGE}"),
    ({"sites": '[["shop-a"]]'}, f"'sites' {TEXT_MESSAGE}"),
    ({"sites": "[null]"}, f"'sites' {TEXT_MESSAGE}"),
    ({"sites": '["shop\\u0000a"]'}, f"'sites' {TEXT_MESSAGE}"),
    ({"sites": '[""]'}, f"'sites' {TEXT_MESSAGE}"),
]


@pytest.mark.parametrize(("changes", "message"), HOSTILE, ids=lambda v: str(v)[:40])
def test_an_admin_token_with_an_absurd_claim_is_refused(changes: dict[str, Any], message: str):
    assert message in refusal(raw_claims(**changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"site": "{}"}, "a service token names its site in 'site'"),
        ({"site": '["shop-a"]'}, "a service token names its site in 'site'"),
        ({"site": None}, "a service token names its site in 'site'"),
        ({"site": '"shop-a\\u0000"'}, f"'site' {TEXT_MESSAGE}"),
        ({"site": '"' + "s" * 256 + '"'}, f"'site' {TEXT_MESSAGE}"),
    ],
)
def test_a_service_token_with_an_absurd_site_is_refused(changes: dict[str, Any], message: str):
    assert message in refusal(raw_claims(SERVICE_CLAIMS, **changes))


def test_the_limits_themselves_are_accepted():
    # given: a fractional exp in year 9999, a 190-character subject, 255-character site
    # codes, 1000 sites
    sites = [f"s{i}" for i in range(999)] + ["x" * 255]
    payload = raw_claims(
        exp="253402300799.0", nbf="0", iat="0", sub=json.dumps("é" * 190), sites=json.dumps(sites)
    )
    # when
    accepted = principal(payload)
    # then
    assert accepted == Principal(Role.ADMIN, "é" * 190, frozenset(sites))


def test_anything_else_pyjwt_raises_is_a_401(monkeypatch: pytest.MonkeyPatch):
    # given: a decoder failing in a way nobody planned (a PyJWT bug, say)
    def overflow(*args: object, **kwargs: object) -> dict[str, Any]:
        msg = "cannot convert float infinity to integer"
        raise OverflowError(msg)

    monkeypatch.setattr(jwt, "decode", overflow)
    # then
    assert refusal(raw_claims()) == "invalid token: it cannot be decoded"


async def test_an_infinite_exp_is_a_401_over_http(http: httpx.AsyncClient):
    # given: the JSON number 1e400, which Python reads as float('inf')
    token = hs256(raw_claims(exp="1e400"))
    headers = {"authorization": f"Bearer {token}"}
    # when
    response = await http.post("/graphql", json={"query": "{ sites { code } }"}, headers=headers)
    # then
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["message"] == f"invalid token: 'exp' {TIME_MESSAGE}"
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


# -- any JSON at all, signed -------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: numbers json.dumps cannot write, escapes it would not."""

    text: str


RAW_NUMBERS = [
    "1e400", "-1e400", "NaN", "Infinity", "1e-400", "-0", "1" + "0" * 400, "-" + "9" * 400,
    "253402300800", "253402300799.5",
]  # fmt: skip
RAW_TEXTS = [
    '"\\u0000"',
    '"shop-a\\u0000"',
    '"\\ud800"',
    '"ann\\udfff"',
    '""',
    '"' + "x" * 300 + '"',
]
raw_numbers = st.sampled_from(RAW_NUMBERS).map(Raw)
raw_texts = st.sampled_from(RAW_TEXTS).map(Raw)


def render(value: object) -> str:
    """``value`` as JSON text, :class:`Raw` parts verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value)


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | raw_numbers
    | raw_texts
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
DROP = object()  # a claim left out
SITES = st.sampled_from(["shop-a", "shop-b"])
# what each claim is most likely to trip over, besides any JSON at all
TROUBLE = {
    "exp": raw_numbers,
    "nbf": raw_numbers,
    "iat": raw_numbers,
    "sub": raw_texts,
    "role": raw_texts,
    "site": raw_texts,
    "sites": st.lists(SITES | raw_texts, min_size=1, max_size=3),
    "aud": raw_texts,
    "jti": raw_texts,
    "x": raw_numbers | raw_texts,
}


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, object]:
    """A valid token's claims, one to three of them replaced or left out.

    The rest being valid, the replaced claims reach every check past the signature and
    the database lookups of the sites and the customer.
    """
    role = draw(st.sampled_from(["admin", "service", "customer"]))
    claims: dict[str, object] = {
        "sub": draw(st.sampled_from(["ann", "tester", "nobody"])),
        "role": role,
        "exp": FAR_FUTURE,
        "iat": 1_700_000_000,
    }
    if role == "admin":
        claims["sites"] = draw(st.lists(SITES, max_size=3))
    else:
        claims["site"] = draw(st.sampled_from(["shop-a", "nowhere"]))
    for name in draw(
        st.lists(st.sampled_from(sorted(TROUBLE)), unique=True, min_size=1, max_size=3)
    ):
        claims[name] = draw(st.one_of(TROUBLE[name], TROUBLE[name], st.just(DROP), json_values))
    return {name: value for name, value in claims.items() if value is not DROP}


QUERY = "{ sites { code } viewer { externalId } }"


@pytest.fixture
async def shop(gql: GraphQLClient) -> None:
    """The site shop-a and its customer ann, for tokens that name them."""
    await register(gql, "shop-a", await create_site(gql, "shop-a"), "ann")


@hypothesis.settings(
    max_examples=int(os.environ.get("LOYALTY_HOSTILE_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=st.one_of(claim_sets(), claim_sets(), claim_sets(), json_values))
async def test_any_signed_json_is_answered_200_or_401_never_500(
    shop: None, http: httpx.AsyncClient, payload: object
):
    # given: any JSON at all, signed with the right secret
    token = hs256(render(payload))
    # when
    response = await http.post(
        "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
    )
    # then
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code in (200, 401), response.text
    assert "Internal error." not in response.text
    body = response.json()
    if response.status_code == 200:
        assert "errors" not in body, body
        assert {"sites", "viewer"} <= body["data"].keys()
    else:
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
