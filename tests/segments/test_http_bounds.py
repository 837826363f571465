"""Segment keys, tags and cursors the database cannot hold are a 422 naming the field, on SQLite
and PostgreSQL alike, and nothing is written (issue 11: these were 500s on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.segments.models import Segment, Tag, UserTag
from tenure.storage.database import Database
from tests.problems import assert_invalid
from tests.serving import keyed_client


@pytest.fixture
def api(settings: Settings, database: Database) -> dict[str, Any]:
    """A client and one key per scope."""
    return {**keyed_client(settings, database), "database": database}


def _rows(api: dict[str, Any], model: type) -> int:
    database: Database = api["database"]
    return int(database.read(lambda s: s.scalar(select(func.count()).select_from(model))))


class TestSegmentBounds:
    def test_a_nul_in_a_segment_key_is_refused(self, api: dict[str, Any]) -> None:
        c, admin = api["client"], api["h"]["admin"]
        assert_invalid(c.get("/v1/segments/vip%00", headers=admin), "path", "key")
        assert_invalid(c.get("/v1/segments/vip%00/members", headers=admin), "path", "key")
        body = {"key": "vip\x00", "rule": {"attr": "country", "op": "eq", "value": "DE"}}
        assert_invalid(c.post("/v1/segments", json=body, headers=admin), "body", "key")
        assert _rows(api, Segment) == 0

    def test_a_nul_in_a_description_is_refused(self, api: dict[str, Any]) -> None:
        body = {"key": "vip", "description": "a\x00b", "rule": {"attr": "country", "op": "eq"}}
        response = api["client"].post("/v1/segments", json=body, headers=api["h"]["admin"])
        assert_invalid(response, "body", "description")
        assert _rows(api, Segment) == 0

    def test_cursors_past_int64_are_refused(self, api: dict[str, Any]) -> None:
        c = api["client"]
        response = c.get(f"/v1/segments/vip/members?offset={2**63}", headers=api["h"]["admin"])
        assert_invalid(response, "query", "offset")
        response = c.get(f"/v1/segments/vip/snapshots/{2**63}/members", headers=api["h"]["admin"])
        assert_invalid(response, "path", "snapshot_id")
        response = c.get(f"/v1/lifecycle/transitions?after_id={2**63}", headers=api["h"]["server"])
        assert_invalid(response, "query", "after_id")


class TestTagBounds:
    def test_a_nul_or_an_over_long_user_id_is_not_tagged(self, api: dict[str, Any]) -> None:
        c, admin = api["client"], api["h"]["admin"]
        for user, index in (("u\x00", 1), ("u" * 201, 1)):
            body = {"user_ids": ["u1", user]}
            response = c.post("/v1/tags/vip/users", json=body, headers=admin)
            assert_invalid(response, "body", "user_ids", index)
        assert (_rows(api, Tag), _rows(api, UserTag)) == (0, 0)
        response = c.delete("/v1/tags/vip/users/u%00", headers=admin)
        assert_invalid(response, "path", "user_id")

    def test_a_tag_key_longer_than_its_column_is_refused(self, api: dict[str, Any]) -> None:
        response = api["client"].post(
            "/v1/tags", json={"key": "t" * 101}, headers=api["h"]["admin"]
        )
        assert_invalid(response, "body", "key")
        assert _rows(api, Tag) == 0
