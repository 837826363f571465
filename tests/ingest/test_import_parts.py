"""Large imports reach the writer in bounded parts that together hold every row once."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tenure.config import Settings
from tenure.ingest.files import importer
from tenure.ingest.files.importer import parquet_parts
from tenure.storage.warehouse import Warehouse


def test_parts_cover_every_row_once_with_bounded_sizes(tmp_path: Path) -> None:
    con = duckdb.connect()
    parts = parquet_parts(con, "SELECT range AS a FROM range(10000)", tmp_path / "p", 4096)
    values = [part.read_all().column("a").to_pylist() for part in parts]
    assert sorted(x for part in values for x in part) == list(range(10000))
    assert [len(part) for part in values] == [4096, 4096, 1808]


def test_an_empty_query_gives_no_rows(tmp_path: Path) -> None:
    con = duckdb.connect()
    parts = parquet_parts(con, "SELECT range AS a FROM range(0)", tmp_path / "p", 10)
    assert sum(part.read_all().num_rows for part in parts) == 0


@pytest.mark.parametrize("on_disk", [False, True], ids=["staged-in-memory", "staged-on-disk"])
def test_an_events_import_written_in_parts_stores_each_id_once(
    duck_settings: Settings,
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    on_disk: bool,
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2048)
    # Large inputs stage in a DuckDB file: force either way for this small one.
    monkeypatch.setattr(importer, "STAGING_ON_DISK_BYTES", 0 if on_disk else 2**62)
    opened: list[str] = []
    real_connect = duckdb.connect

    def spy(database: str = ":memory:", *args: object, **kwargs: object) -> object:
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer.duckdb, "connect", spy)
    rows = ["event_id,user_id,name,ts"] + [
        f"e{i % 3000},u{i},View,2024-03-0{1 + i % 5} 10:00:00" for i in range(5000)
    ]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    summary = importer.import_files(
        "events", [str(path)], settings=duck_settings, warehouse=warehouse
    )
    assert summary.written["events"] == 3000
    with warehouse.reader() as con:
        events = con.table("events").execute()
    assert sorted(events.event_id) == sorted(f"e{i}" for i in range(3000))
    # Rows 3000-4999 repeat e0-e1999, possibly in later parts: one copy of each id is kept.
    for event_id, user in zip(events.event_id, events.user_id, strict=True):
        i = int(event_id[1:])
        assert user in {f"u{i}", f"u{i + 3000}"}
    assert not list((duck_settings.home / "tmp").glob("import-*"))
    staged = [name for name in opened if name == ":memory:" or name.endswith("staging.duckdb")]
    assert staged and staged[0].endswith("staging.duckdb") == on_disk


def test_a_whole_output_is_one_reader_even_when_empty(tmp_path: Path) -> None:
    con = duckdb.connect()
    empty = importer.parquet_whole(con, "SELECT 'x' AS a WHERE false", tmp_path / "e.parquet")
    assert empty.schema.names == ["a"] and empty.read_all().num_rows == 0
    full = importer.parquet_whole(
        con, "SELECT range AS a FROM range(250000)", tmp_path / "f.parquet"
    )
    assert full.read_all().column("a").to_pylist() == list(range(250000))
