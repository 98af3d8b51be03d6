"""RS256: `loyalty-gql token` and issue_token sign with the private key, the service
checks with the public key, and nothing else passes for it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from loyalty_gql.api.app import create_app
from loyalty_gql.api.auth import KeyConfigurationError, Role, TokenVerifier, issue_token
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from tests.api.jwt_helpers import b64url, hs256, raw_claims
from tests.conftest import GraphQLClient
from tests.support.shop import create_site

CLI = str(Path(sys.executable).with_name("loyalty-gql"))
SITES = {"query": "{ sites { code } }"}


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def one_line(pem: str) -> str:
    """The PEM as env files hold it: one line, with literal backslash-n sequences."""
    return pem.strip().replace("\n", "\\n")


def rs256_settings(key: rsa.RSAPrivateKey) -> Settings:
    return Settings(
        env="test",
        jwt_algorithm="RS256",
        jwt_public_key=public_pem(key),
        jwt_private_key=private_pem(key),
    )


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    """The service's key pair."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    """Somebody else's key pair."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def settings(key: rsa.RSAPrivateKey) -> Settings:
    """The app under test checks RS256 tokens with the public key."""
    return rs256_settings(key)


async def _sites(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/graphql", json=SITES, headers={"authorization": f"Bearer {token}"})


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:  # a server that started after all
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_an_rs256_token_from_issue_token_is_accepted(
    gql: GraphQLClient, http: httpx.AsyncClient
):
    # given
    await create_site(gql, "demo")
    token = gql.token("admin", "demo")
    # when
    response = await _sites(http, token)
    # then
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert (response.status_code, response.json()["data"]) == (200, {"sites": [{"code": "demo"}]})


async def test_the_cli_mints_an_rs256_token_the_service_accepts(
    gql: GraphQLClient, http: httpx.AsyncClient, key: rsa.RSAPrivateKey
):
    # given: the keys as an env file holds them, on one line with literal "\n"
    await create_site(gql, "demo")
    env = {
        "LOYALTY_JWT_ALGORITHM": "RS256",
        "LOYALTY_JWT_PUBLIC_KEY": one_line(public_pem(key)),
        "LOYALTY_JWT_PRIVATE_KEY": one_line(private_pem(key)),
    }
    # when
    status, out, err = await _cli(env, "token", "--role", "admin", "--site", "demo")
    token = out.strip()
    response = await _sites(http, token)
    # then
    assert (status, err) == (0, "")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert (response.status_code, response.json()["data"]) == (200, {"sites": [{"code": "demo"}]})


@pytest.mark.parametrize(
    ("private", "message"),
    [
        ("", "LOYALTY_JWT_PRIVATE_KEY is needed to sign RS256 tokens"),
        (
            "-----BEGIN PRIVATE KEY-----\\nnonsense\\n-----END PRIVATE KEY-----",
            "LOYALTY_JWT_PRIVATE_KEY is not an unencrypted PEM private key",
        ),
        ("other", "LOYALTY_JWT_PRIVATE_KEY does not belong to LOYALTY_JWT_PUBLIC_KEY"),
    ],
    ids=["missing", "garbage", "another pair's"],
)
async def test_the_cli_explains_a_private_key_it_cannot_sign_with(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, private: str, message: str
):
    # given
    env = {
        "LOYALTY_JWT_ALGORITHM": "RS256",
        "LOYALTY_JWT_PUBLIC_KEY": public_pem(key),
        "LOYALTY_JWT_PRIVATE_KEY": private_pem(other_key) if private == "other" else private,
    }
    # when
    status, out, err = await _cli(env, "token", "--role", "admin", "--site", "demo")
    # then
    assert (status, out) == (2, "")
    assert err.startswith(f"cannot sign a token: {message}")
    assert "Traceback" not in err


async def test_an_hs256_token_keyed_with_the_public_key_pem_is_401(
    http: httpx.AsyncClient, key: rsa.RSAPrivateKey
):
    # given: the algorithm-confusion attack, HMAC keyed with the (public) PEM text
    pem = public_pem(key)
    forged = [hs256(raw_claims(), secret=secret.encode()) for secret in (pem, pem.strip())]
    # when
    responses = [await _sites(http, token) for token in forged]
    # then
    assert [r.status_code for r in responses] == [401, 401]
    assert responses[0].json()["errors"][0]["message"] == (
        "invalid token: The specified alg value is not allowed"
    )


async def test_an_rs256_token_signed_by_another_key_is_401(
    http: httpx.AsyncClient, key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
):
    # given: a well-formed RS256 token from another key pair
    forged = issue_token(
        rs256_settings(other_key), role=Role.ADMIN, sites=["demo"], subject="mallory"
    )
    # when
    response = await _sites(http, forged)
    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "invalid token: Signature verification failed"


async def test_an_hs256_token_is_401_when_rs256_is_configured(http: httpx.AsyncClient):
    # given: a token signed with the (development) shared secret
    token = issue_token(Settings(env="test"), role=Role.ADMIN, sites=["demo"], subject="me")
    # when
    response = await _sites(http, token)
    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == (
        "invalid token: The specified alg value is not allowed"
    )


async def test_an_unsigned_token_is_401(http: httpx.AsyncClient):
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    token = f"{header}.{b64url(raw_claims().encode())}."
    assert (await _sites(http, token)).status_code == 401


def test_the_public_key_may_have_literal_newlines(key: rsa.RSAPrivateKey):
    # given: the public key on one line, as in an env file
    settings = rs256_settings(key).model_copy(update={"jwt_public_key": one_line(public_pem(key))})
    token = issue_token(rs256_settings(key), role=Role.SERVICE, sites=["demo"], subject="shop")
    # when
    principal = TokenVerifier(settings).principal(f"Bearer {token}")
    # then
    assert (principal.role, principal.site_codes) == (Role.SERVICE, frozenset({"demo"}))


MALFORMED = {
    "not PEM": "LOYALTY_JWT_PUBLIC_KEY is not a PEM public key",
    "bad base64": "LOYALTY_JWT_PUBLIC_KEY is not a PEM public key",
    "truncated": "LOYALTY_JWT_PUBLIC_KEY is not a PEM public key",
    "private": "LOYALTY_JWT_PUBLIC_KEY holds a private key; give the service only the public key",
    "1024 bits": "LOYALTY_JWT_PUBLIC_KEY is a 1024-bit RSA key; use 2048 bits or more",
    "elliptic": "LOYALTY_JWT_PUBLIC_KEY is not an RSA key (RS256 needs RSA)",
}


@pytest.mark.parametrize(("case", "message"), MALFORMED.items(), ids=list(MALFORMED))
def test_a_malformed_public_key_fails_at_start_up(
    db: Database, key: rsa.RSAPrivateKey, case: str, message: str
):
    # given
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    pem = {
        "not PEM": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        "bad base64": "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
        "truncated": public_pem(key)[:200] + "-----END PUBLIC KEY-----",
        "private": private_pem(key),
        "1024 bits": public_pem(weak_key),
        "elliptic": public_pem(ec.generate_private_key(ec.SECP256R1())),
    }[case]
    settings = Settings(env="test", jwt_algorithm="RS256", jwt_public_key=pem)
    # then: building the app (what uvicorn does at start-up) fails, naming the setting
    with pytest.raises(KeyConfigurationError) as failure:
        create_app(settings, db)
    assert message in str(failure.value)


async def test_the_service_does_not_start_with_a_malformed_public_key(tmp_path: Path):
    # given
    env = {
        "LOYALTY_JWT_ALGORITHM": "RS256",
        "LOYALTY_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\ngarbage\\n-----END PUBLIC KEY-----",
        "LOYALTY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    # when
    status, _, err = await _cli(env, "serve", "--host", "127.0.0.1", "--port", "0")
    # then: it exits at once, the reason on the last line
    assert status == 1
    assert err.splitlines()[-1].startswith(
        "loyalty_gql.api.auth.KeyConfigurationError: "
        "LOYALTY_JWT_PUBLIC_KEY is not a PEM public key ('-----BEGIN PUBLIC KEY-----' ...): "
    )
