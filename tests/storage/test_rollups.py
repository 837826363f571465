"""The stored activity rollup always equals the same rows computed from the raw tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa

from tenure.analytics.activity import is_stored
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.storage.rollups import (
    ROLLUP,
    USER_DAYS,
    USER_FIRST,
    USER_WEEKS,
    activity_expr,
    user_days_expr,
    user_first_expr,
    user_weeks_expr,
)
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import retail_file


def user_first_by_hand(days: pd.DataFrame) -> pd.DataFrame:
    """user_first computed in plain Python from user_days rows (independent of the Ibis code)."""
    rows = []
    for user_id, group in days.groupby("user_id"):
        row: dict[str, object] = {"user_id": user_id}
        for kind, active in (
            ("any", group.orders + group.events > 0),
            ("event", group.events > 0),
            ("order", group.orders > 0),
        ):
            active_days = sorted(pd.Timestamp(d).date() for d in group.day[active])
            first = active_days[0] if active_days else None
            row[f"first_{kind}"] = first
            row[f"next_{kind}"] = active_days[1] if len(active_days) > 1 else None
            row[f"last_{kind}"] = active_days[-1] if active_days else None
            day_mask = week_mask = 0
            for day in active_days:
                assert first is not None
                offset = (day - first).days
                weeks = (
                    (day - pd.Timedelta(days=day.weekday()))
                    - (first - pd.Timedelta(days=first.weekday()))
                ).days // 7
                day_mask |= 1 << offset if offset < 63 else 0
                week_mask |= 1 << weeks if weeks < 63 else 0
            row[f"days_{kind}"] = day_mask
            row[f"weeks_{kind}"] = week_mask
        rows.append(row)
    return pd.DataFrame(rows)


def stored_and_live(warehouse: Warehouse, zone: ZoneInfo) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored rollup and the live one; user_days is checked against its live form too."""
    with warehouse.reader() as con:
        stored = con.table(ROLLUP).execute()
        live = activity_expr(con, zone).execute()
        stored_days = con.table(USER_DAYS).execute()
        live_days = user_days_expr(activity_expr(con, zone)).execute()
        per_user = {
            (USER_FIRST, ("user_id",)): (
                con.table(USER_FIRST).execute(),
                user_first_expr(user_days_expr(activity_expr(con, zone))).execute(),
            ),
            (USER_WEEKS, ("user_id", "week")): (
                con.table(USER_WEEKS).execute(),
                user_weeks_expr(user_days_expr(activity_expr(con, zone))).execute(),
            ),
        }
    days_keys = ["user_id", "day"]
    stored_first = per_user[(USER_FIRST, ("user_id",))][0]
    by_hand = user_first_by_hand(stored_days)
    assert len(by_hand) == len(stored_first)
    merged = stored_first.merge(by_hand, on="user_id", suffixes=("", "_hand"))
    for column in stored_first.columns.drop("user_id"):
        stored_values = [None if pd.isna(v) else v for v in merged[column]]
        hand_values = [None if pd.isna(v) else v for v in merged[f"{column}_hand"]]
        if column.startswith(("days_", "weeks_")):
            stored_values = [int(v) for v in stored_values]
        else:
            stored_values = [None if v is None else pd.Timestamp(v).date() for v in stored_values]
        assert stored_values == hand_values, column
    pd.testing.assert_frame_equal(
        stored_days.sort_values(days_keys).reset_index(drop=True),
        live_days[stored_days.columns].sort_values(days_keys).reset_index(drop=True),
        check_dtype=False,
    )
    for (name, key), (stored_rows, live_rows) in per_user.items():
        assert len(stored_rows) == len(live_rows), name
        pd.testing.assert_frame_equal(
            stored_rows.sort_values(list(key)).reset_index(drop=True),
            live_rows[stored_rows.columns].sort_values(list(key)).reset_index(drop=True),
            check_dtype=False,
        )
    keys = ["user_id", "day", "source"]
    return (
        stored.sort_values(keys).reset_index(drop=True),
        live[stored.columns].sort_values(keys).reset_index(drop=True),
    )


def test_rollup_stays_exact_through_imports_merges_and_status_changes(
    duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
) -> None:
    ts = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    first = retail_file(
        tmp_path / "a.csv",
        "1,A,Mug,1,2024-03-01 23:30:00,1.00,7,UK",
        "2,A,Mug,2,2024-03-02 10:00:00,1.00,8,UK",
    )
    import_files(
        "orders",
        [str(first)],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    with warehouse.writer() as writer:
        writer.insert_missing(
            "events",
            pa.table(
                {
                    "event_id": ["e1", "e2", "e3"],
                    "type": ["track", "page", "track"],
                    "anonymous_id": ["anon", "anon", None],
                    "user_id": [None, None, "8"],
                    "name": ["Viewed", None, "Viewed"],
                    "ts": [ts, ts, ts],
                }
            ),
        )
    changed = retail_file(tmp_path / "b.csv", "2,A,Mug,2,2024-03-05 10:00:00,1.50,8,UK")
    import_files(
        "orders",
        [str(changed)],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    with warehouse.writer() as writer:
        writer.upsert("identities", pa.table({"alias_id": ["anon"], "user_id": ["7"], "ts": [ts]}))
        writer.resolve_identities()
        writer.set_order_status(["1"], "cancelled")
    stored, live = stored_and_live(warehouse, ZoneInfo("UTC"))
    assert len(stored) == 4
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    assert set(stored.source) == {"$order", "$page", "Viewed"}


def test_per_user_rollups_follow_a_merge_that_moves_a_users_activity_away(
    duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
) -> None:
    path = retail_file(
        tmp_path / "a.csv",
        "1,A,Mug,1,2024-03-04 10:00:00,1.00,7,UK",
        "2,A,Mug,1,2024-02-20 10:00:00,1.00,8,UK",
    )
    import_files(
        "orders",
        [str(path)],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    ts = datetime(2024, 3, 5, tzinfo=UTC)
    with warehouse.writer() as writer:
        writer.upsert("identities", pa.table({"alias_id": ["8"], "user_id": ["7"], "ts": [ts]}))
        writer.resolve_identities()
    stored, live = stored_and_live(warehouse, ZoneInfo("UTC"))
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    with warehouse.reader() as con:
        first = con.table(USER_FIRST).execute()
        weeks = con.table(USER_WEEKS).order_by("week").execute()
    assert first.user_id.tolist() == ["7"]
    assert str(first.first_order.iloc[0])[:10] == "2024-02-20"
    assert [str(w)[:10] for w in weeks.week] == ["2024-02-19", "2024-03-04"]
    assert weeks.user_id.tolist() == ["7", "7"]


def test_a_new_time_zone_rebuilds_the_rollup_in_that_zone(home: Path, tmp_path: Path) -> None:
    path = retail_file(tmp_path / "a.csv", "1,A,Mug,1,2024-03-01 23:30:00,1.00,7,UK")
    utc = Settings(home=home)
    Warehouse(utc).init()
    import_files(
        "orders",
        [str(path)],
        settings=utc,
        warehouse=Warehouse(utc),
        mapping=preset("online-retail", "orders"),
    )
    shanghai = Settings(home=home, timezone="Asia/Shanghai")
    Warehouse(shanghai).init()
    stored, live = stored_and_live(Warehouse(shanghai), ZoneInfo("Asia/Shanghai"))
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    assert (
        str(stored.day.iloc[0])[:10] == "2024-03-02"
    )  # 23:30 in London is 07:30 next day in Shanghai


def test_rollup_matches_live_on_real_data(
    duck_settings: Settings, warehouse: Warehouse, real_data: Path
) -> None:
    import_files(
        "orders",
        [str(real_data / "online_retail")],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    stored, live = stored_and_live(warehouse, ZoneInfo("UTC"))
    assert len(stored) > 10_000
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)


def test_a_warehouse_built_by_an_older_version_is_read_live_then_rebuilt_on_the_next_write(
    duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
) -> None:
    path = retail_file(tmp_path / "a.csv", "1,A,Mug,1,2024-03-04 10:00:00,1.00,7,UK")
    mapping = preset("online-retail", "orders")
    import_files(
        "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
    )
    # What a warehouse of the previous version holds: no per-user rollups, an unversioned state.
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(f"DROP TABLE {USER_FIRST}")
        con.execute(f"DROP TABLE {USER_WEEKS}")
        con.execute(f"CREATE TABLE {USER_FIRST} (user_id VARCHAR, first_any DATE)")
        con.execute("UPDATE rollup_state SET name = 'activity_daily'")
    with warehouse.reader() as reader:
        assert not is_stored(reader, ZoneInfo("UTC"))
    with warehouse.writer():
        pass  # any write brings the rollups to the current version
    with warehouse.reader() as reader:
        assert is_stored(reader, ZoneInfo("UTC"))
    stored, live = stored_and_live(warehouse, ZoneInfo("UTC"))
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)
