"""Finding customers by id, e-mail or name (the console's customer search)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from tenure.profiles.service import search_users
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import build_shop

ZONE = ZoneInfo("UTC")


@pytest.fixture
def shop(tmp_path: Path) -> Warehouse:
    warehouse = build_shop(tmp_path)
    people = [
        ("c/1", {"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace"}),
        ("c2", {"name": "Grace Hopper", "phone": "+44 20 7946 0000"}),
    ]
    rows = pa.table(
        {
            "user_id": [p[0] for p in people],
            "country": ["GB", "US"],
            "attributes": [json.dumps(p[1]) for p in people],
        }
    )
    ghost = pa.table(  # an event under an id with no users row
        {
            "event_id": ["g1"],
            "type": ["track"],
            "user_id": ["ghost"],
            "name": ["Product Viewed"],
            "ts": [datetime(2024, 3, 1, tzinfo=UTC)],
        }
    )
    with warehouse.writer() as writer:
        writer.upsert("users", rows)
        writer.upsert("events", ghost)
    return warehouse


def test_an_id_fragment_finds_ids_containing_it_exact_and_prefix_first(shop: Warehouse) -> None:
    with shop.reader() as con:
        hits, more = search_users(con, ZONE, "u1", limit=10)
        assert [h.user_id for h in hits] == ["u1"] and not more
        hits, _ = search_users(con, ZONE, "U", limit=10)  # case does not matter
        assert [h.user_id for h in hits][:3] == ["u1", "u2", "u3"]


def test_email_and_names_are_searched_too(shop: Warehouse) -> None:
    with shop.reader() as con:
        [ada], _ = search_users(con, ZONE, "ada@example")
        assert (ada.user_id, ada.email, ada.name) == ("c/1", "Ada@Example.com", "Ada Lovelace")
        [grace], _ = search_users(con, ZONE, "hopper")
        assert (grace.user_id, grace.name, grace.country) == ("c2", "Grace Hopper", "US")
        assert search_users(con, ZONE, "7946")[0][0].user_id == "c2"
        assert search_users(con, ZONE, "nobody-at-all") == ([], False)


def test_results_come_in_pages(shop: Warehouse) -> None:
    with shop.reader() as con:
        everyone, more = search_users(con, ZONE, "", limit=100)
        assert not more and len(everyone) == 12  # 9 users + 2 added + the ghost
        first, more = search_users(con, ZONE, "", limit=4)
        second, _ = search_users(con, ZONE, "", limit=4, offset=4)
        assert more and [h.user_id for h in first + second] == [h.user_id for h in everyone[:8]]


def test_a_user_exists_with_a_users_row_an_order_or_an_event(shop: Warehouse) -> None:
    from tenure.profiles.service import user_exists

    with shop.reader() as con:
        assert user_exists(con, "p1")  # signed up, never ordered
        assert user_exists(con, "c/1")
        assert user_exists(con, "u1") and user_exists(con, "ghost")
        assert not user_exists(con, "nobody") and not user_exists(con, "U1")
