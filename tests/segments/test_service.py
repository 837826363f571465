"""Saved segments and tags in the operational database, on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tenure.kit.time import utc_now
from tenure.segments import service, tags
from tenure.segments.errors import (
    BadKey,
    RuleError,
    SegmentExists,
    SegmentNotFound,
    TagIsRuleBased,
)
from tenure.segments.runs import export_members, refresh_segments, refresh_tags
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import build_shop

REPEAT = {"field": "feature.orders", "op": "gte", "value": 2}


@pytest.fixture
def stores(tmp_path: Path, database_url: str) -> tuple[Warehouse, Database]:
    database = Database(database_url)
    database.upgrade()
    return build_shop(tmp_path / "wh"), database


def refresh(stores: tuple[Warehouse, Database], *keys: str) -> list[service.Refresh]:
    shop, database = stores
    return refresh_segments(database, shop, ZoneInfo("UTC"), list(keys) if keys else None, None)


class TestSavedSegments:
    def test_a_refresh_stores_members_and_a_snapshot(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT, name="Repeat buyers")
        [done] = refresh(stores, "repeat")
        assert (done.members, done.added, done.removed) == (5, 5, 0)
        with database.session() as session:
            assert service.all_members(session, "repeat") == ["u1", "u3", "u4", "u6", "u7"]
            assert service.get_segment(session, "repeat").member_count == 5
            assert [s.members for s in service.snapshots(session, "repeat")] == [5]

    def test_membership_lookups_for_checkout_and_campaigns(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
            service.create_segment(
                session, "germany", {"field": "user.country", "op": "eq", "value": "DE"}
            )
        refresh(stores)
        with database.session() as session:
            assert service.segments_of(session, "u1") == ["germany", "repeat"]
            assert service.segments_of(session, "u5") == []
            assert service.is_member(session, "repeat", "u7")
            assert not service.is_member(session, "repeat", "u2")
            assert not service.is_member(session, "nope", "u1")

    def test_a_changed_rule_records_who_joined_and_left(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        refresh(stores, "repeat")
        with database.session() as session:
            service.update_segment(
                session, "repeat", rule={"field": "feature.orders", "op": "gte", "value": 3}
            )
        [done] = refresh(stores, "repeat")
        assert (done.members, done.added, done.removed) == (2, 0, 3)
        with database.session() as session:
            first, second = sorted(service.snapshots(session, "repeat"), key=lambda s: s.id)
            assert service.members_at(session, "repeat", first.id) == ["u1", "u3", "u4", "u6", "u7"]
            assert service.members_at(session, "repeat", second.id) == ["u1", "u7"]

    def test_only_due_segments_are_refreshed(self, stores: tuple[Warehouse, Database]) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT, refresh_minutes=30)
            assert service.due_segments(session) == ["repeat"]  # new segments are due at once
        assert [r.key for r in refresh(stores)] == ["repeat"]
        assert refresh(stores) == []
        with database.session() as session:
            later = utc_now() + timedelta(minutes=31)
            assert service.due_segments(session, later) == ["repeat"]

    def test_errors_for_unknown_duplicate_and_malformed(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        with pytest.raises(SegmentExists), database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        with pytest.raises(SegmentNotFound), database.session() as session:
            service.get_segment(session, "nope")
        with pytest.raises(BadKey), database.session() as session:
            service.create_segment(session, "Has Spaces", REPEAT)
        with pytest.raises(RuleError) as caught, database.session() as session:
            service.create_segment(session, "bad", {"all": [{"field": "feature.x"}]})
        assert caught.value.data["path"] == "$.all[0].field"

    def test_delete_removes_members_and_snapshots(self, stores: tuple[Warehouse, Database]) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        refresh(stores, "repeat")
        with database.session() as session:
            service.delete_segment(session, "repeat")
        with database.session() as session:
            assert service.segments_of(session, "u1") == []
            assert service.list_segments(session) == []

    def test_export_has_members_with_their_features(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        shop, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        refresh(stores, "repeat")
        frame = export_members(database, shop, ZoneInfo("UTC"), "repeat")
        assert frame.user_id.tolist() == ["u1", "u3", "u4", "u6", "u7"]
        assert frame.set_index("user_id").loc["u6", "revenue"] == 60
        assert frame.set_index("user_id").loc["u7", "orders"] == 5


class TestTags:
    def test_manual_tags_are_idempotent_and_usable_in_rules(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            assert tags.tag_users(session, "vip", ["u2", "u5"]) == 2
            assert tags.tag_users(session, "vip", ["u2"]) == 0
            service.create_segment(session, "vips", {"tag": "vip"})
        assert refresh(stores, "vips")[0].members == 2
        with database.session() as session:
            tags.untag_users(session, "vip", ["u5"])
            assert tags.tags_of(session, "u2") == ["vip"] and tags.tags_of(session, "u5") == []

    def test_rule_tags_follow_their_rule_and_refuse_hand_edits(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        shop, database = stores
        with database.session() as session:
            tags.create_tag(session, "big", {"field": "feature.revenue", "op": "gt", "value": 200})
        [done] = refresh_tags(database, shop, ZoneInfo("UTC"), None)
        assert done.members == 2
        with database.session() as session:
            assert tags.tags_of(session, "u4") == ["big"]
            with pytest.raises(TagIsRuleBased):
                tags.tag_users(session, "big", ["u2"])

    def test_an_unknown_tag_in_a_rule_is_an_error(self, stores: tuple[Warehouse, Database]) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "ghosts", {"tag": "ghost"})
        with pytest.raises(RuleError):
            refresh(stores, "ghosts")


class TestConcurrency:
    def test_two_workers_never_refresh_the_same_segment_twice(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        with database.session() as session:
            service.create_segment(session, "repeat", REPEAT)
        results: list[list[service.Refresh]] = []
        barrier = threading.Barrier(4)

        def worker() -> None:
            barrier.wait()
            results.append(refresh(stores))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(len(r) for r in results) == [0, 0, 0, 1]
        with database.session() as session:
            assert len(service.snapshots(session, "repeat")) == 1


class TestLookupSpeed:
    def test_is_member_answers_in_milliseconds_with_many_members(
        self, stores: tuple[Warehouse, Database]
    ) -> None:
        _, database = stores
        from tenure.segments import repository

        with database.session() as session:
            segment = service.create_segment(session, "many", REPEAT)
            ids = [f"user-{i:06d}" for i in range(50_000)]
            repository.replace_members(session, segment.id, ids, [], utc_now())
        timings = []
        with database.session() as session:
            for i in range(0, 50_000, 250):
                started = time.perf_counter()
                assert service.is_member(session, "many", f"user-{i:06d}")
                timings.append(time.perf_counter() - started)
        assert statistics.median(timings) < 0.005
