"""With LOYALTY_ENV=production: no introspection, no IDE, masked errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from loyalty_gql.api.app import create_app
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database


@pytest.fixture
async def production(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(env="production", jwt_secret="s" * 48)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://prod") as client:
        yield client


async def test_introspection_is_off(production: httpx.AsyncClient):
    response = await production.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    assert "data" not in response.json()
    assert "introspection has been disabled" in response.json()["errors"][0]["message"].lower()


async def test_the_ide_is_off(production: httpx.AsyncClient):
    response = await production.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404


async def test_production_refuses_the_development_secret():
    with pytest.raises(ValueError, match="LOYALTY_JWT_SECRET"):
        Settings(env="production")
