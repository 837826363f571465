"""A revoked key stops working on the next request in every worker process, and a cached key
lookup costs one read of the key generation."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import event

from tenure.apikeys import repository
from tenure.apikeys.service import authenticate, create_key, hash_secret, revoke_key
from tenure.storage.database import Database
from tests.serving import keyed_server, run_cli, together


def test_a_revoked_admin_key_is_refused_at_once_by_both_workers(
    home: Path, database_url: str
) -> None:
    with keyed_server(home, database_url, workers=2) as server:
        secret = server["admin"]["authorization"].removeprefix("Bearer ")
        key = server["database"].read(lambda s: repository.by_hash(s, hash_secret(secret)))

        def call(client: httpx.Client, _: int) -> httpx.Response:
            return client.get(f"{server['url']}/v1/segments", headers=server["admin"])

        # Many parallel connections: both workers answer, and both cache the key.
        assert {r.status_code for r in together(24, call)} == {200}
        revoked = run_cli(home, "keys", "revoke", key.id, TENURE_DATABASE_URL=database_url)
        assert revoked.returncode == 0, revoked.stderr
        one_by_one = [
            httpx.get(f"{server['url']}/v1/segments", headers=server["admin"]) for _ in range(8)
        ]
        answers = together(24, call) + one_by_one
        assert {(r.status_code, r.json()["code"]) for r in answers} == {(401, "invalid_api_key")}
        # The other keys keep working.
        other = httpx.get(f"{server['url']}/v1/segments/x", headers=server["server"])
        assert other.status_code == 403


def test_a_cached_key_costs_one_generation_read(database: Database) -> None:
    with database.session() as session:
        key = create_key(session, "k", ["write"])
    statements: list[str] = []

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    database.read(lambda s: authenticate(s, key.secret))  # looks the key up, caches it
    event.listen(database.engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            database.read(lambda s: authenticate(s, key.secret))
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert len(statements) == 3
    assert all("api_key_state" in sql and "api_keys" not in sql for sql in statements)
    with database.session() as session:
        revoke_key(session, key.id)
    with database.session() as session:
        assert repository.generation(session) == 2  # one create, one revoke
