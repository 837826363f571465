"""API keys: hashed storage, scopes, revocation, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tenure.api import errors
from tenure.apikeys.auth import require
from tenure.apikeys.errors import UnknownScope
from tenure.apikeys.models import ApiKey
from tenure.apikeys.service import Principal, create_key, revoke_key
from tenure.storage.database import Database


def _app(database: Database) -> TestClient:
    app = FastAPI()
    app.state.database = database
    errors.install(app)

    @app.get("/admin-only")
    def admin_only(who: Principal = Depends(require("admin"))) -> dict[str, str]:
        return {"key": who.key_id}

    @app.get("/server-only")
    def server_only(who: Principal = Depends(require("server"))) -> dict[str, str]:
        return {"key": who.key_id}

    return TestClient(app)


class TestApiKeys:
    def test_only_a_hash_of_the_secret_is_stored(self, database: Database) -> None:
        with database.session() as session:
            key = create_key(session, "k", ["server"])
        with database.session() as session:
            stored = session.scalars(select(ApiKey)).one()
        assert key.secret not in (stored.secret_hash, stored.prefix)
        assert len(stored.secret_hash) == 64
        assert key.secret.startswith(stored.prefix)

    def test_scopes_nest_admin_over_server_over_write(self, database: Database) -> None:
        client = _app(database)
        with database.session() as session:
            write = create_key(session, "w", ["write"]).secret
            server = create_key(session, "s", ["server"]).secret
            admin = create_key(session, "a", ["admin"]).secret
        bearer = lambda s: {"authorization": f"Bearer {s}"}  # noqa: E731
        assert client.get("/server-only", headers=bearer(write)).json()["code"] == "scope_required"
        assert client.get("/server-only", headers=bearer(server)).status_code == 200
        assert client.get("/admin-only", headers=bearer(server)).status_code == 403
        assert client.get("/admin-only", headers=bearer(admin)).status_code == 200

    def test_a_revoked_key_stops_working(self, database: Database) -> None:
        client = _app(database)
        with database.session() as session:
            key = create_key(session, "a", ["admin"])
        headers = {"authorization": f"Bearer {key.secret}"}
        assert client.get("/admin-only", headers=headers).status_code == 200
        with database.session() as session:
            revoke_key(session, key.id)
        response = client.get("/admin-only", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")

    def test_unknown_scope_is_refused(self, database: Database) -> None:
        with database.session() as session, pytest.raises(UnknownScope):
            create_key(session, "x", ["superuser"])


def test_health_and_openapi_are_served(database: Database) -> None:
    from tenure.api.app import create_app
    from tenure.config import Settings

    settings = Settings(database_url=database.url, inbox_flush_seconds=0)
    client = TestClient(create_app(settings))
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/track", "/v1/batch", "/v1/identify", "/v1/analytics/retention"} <= set(paths)
    assert client.get("/docs").status_code == 200
    missing = client.get("/v1/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
