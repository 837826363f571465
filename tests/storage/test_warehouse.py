"""Warehouse writes are keyed and atomic; processes take turns on the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from tenure.config import Settings
from tenure.storage.locking import file_lock
from tenure.storage.warehouse import Warehouse, WarehouseMissing

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_reading_before_init_says_what_to_do(duck_settings: Settings) -> None:
    with pytest.raises(WarehouseMissing) as caught, Warehouse(duck_settings).reader():
        pass
    assert "tenure init" in caught.value.message


def test_a_failed_write_block_rolls_everything_back(warehouse: Warehouse) -> None:
    with pytest.raises(RuntimeError), warehouse.writer() as writer:
        writer.upsert("orders", pa.table({"order_id": ["a"], "ts": [T0], "status": ["paid"]}))
        raise RuntimeError("boom")
    with warehouse.reader() as con:
        assert con.table("orders").count().execute() == 0


def test_merge_keeps_the_earliest_first_seen_and_merges_attributes(warehouse: Warehouse) -> None:
    later = datetime(2024, 2, 1, tzinfo=UTC)
    with warehouse.writer() as writer:
        writer.merge(
            "users", pa.table({"user_id": ["u"], "first_seen": [later], "attributes": ['{"a":1}']})
        )
        writer.merge(
            "users",
            pa.table(
                {"user_id": ["u"], "first_seen": [T0], "attributes": ['{"b":2}'], "country": ["CN"]}
            ),
        )
        writer.merge("users", pa.table({"user_id": ["u"], "first_seen": [later]}))
    with warehouse.reader() as con:
        row = con.table("users").execute().iloc[0]
    assert row.first_seen.to_pydatetime() == T0
    assert row.country == "CN"
    assert row.attributes == '{"a":1,"b":2}'


def test_alias_chains_resolve_to_the_final_user(warehouse: Warehouse) -> None:
    with warehouse.writer() as writer:
        writer.insert_missing(
            "events",
            pa.table(
                {
                    "event_id": ["1", "2"],
                    "anonymous_id": ["anon", None],
                    "user_id": [None, "old"],
                    "name": ["x", "y"],
                    "ts": [T0, T0],
                }
            ),
        )
        writer.upsert(
            "identities", pa.table({"alias_id": ["anon", "old"], "user_id": ["old", "new"]})
        )
        writer.resolve_identities()
    with warehouse.reader() as con:
        assert con.table("events").user_id.execute().tolist() == ["new", "new"]


def test_a_second_process_waits_for_the_writer_instead_of_failing(
    warehouse: Warehouse, duck_settings: Settings
) -> None:
    script = f"""
import time, pyarrow as pa
from datetime import datetime, UTC
from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
w = Warehouse(Settings(home={str(duck_settings.home)!r}))
with w.writer() as wr:
    print("locked", flush=True)
    wr.upsert("orders", pa.table({{"order_id": ["slow"], "ts": [datetime.now(UTC)], "status": ["paid"]}}))
    time.sleep(2)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    started = time.monotonic()
    with warehouse.reader() as con:
        waited = time.monotonic() - started
        assert con.table("orders").order_id.execute().tolist() == ["slow"]
    assert proc.wait(timeout=60) == 0
    assert waited > 0.5


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    lock = tmp_path / "w.lock"
    script = (
        "from pathlib import Path\nfrom tenure.storage.locking import file_lock\n"
        f"with file_lock(Path({str(lock)!r}), exclusive=False, timeout=0.3): pass"
    )
    with file_lock(lock, exclusive=True, timeout=1):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode != 0
    assert "WarehouseBusy" in result.stderr
    free = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert free.returncode == 0
