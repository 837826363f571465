"""Large imports reach the writer in bounded slices that together hold every row once."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tenure.config import Settings
from tenure.ingest.files import importer
from tenure.ingest.files.importer import slices
from tenure.storage.warehouse import Warehouse


def _reader(rows: int, batch: int) -> pa.RecordBatchReader:
    table = pa.table({"a": list(range(rows))})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch))


def test_slices_cover_every_row_once_in_order_with_bounded_sizes() -> None:
    parts = [p.read_all().column("a").to_pylist() for p in slices(_reader(1000, 64), 300)]
    assert [x for part in parts for x in part] == list(range(1000))
    # A slice stops at the first batch that reaches the bound: at most one batch over it.
    assert all(300 <= len(part) < 300 + 64 for part in parts[:-1])
    assert len(parts) == 4


def test_an_empty_reader_gives_no_slice() -> None:
    assert list(slices(_reader(0, 10), 5)) == []


def test_an_events_import_written_in_slices_stores_each_id_once(
    duck_settings: Settings, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    monkeypatch.setattr(importer, "BATCH_ROWS", 1)
    rows = ["event_id,user_id,name,ts"] + [
        f"e{i % 7},u{i},View,2024-03-0{1 + i % 5} 10:00:00" for i in range(12)
    ]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    summary = importer.import_files(
        "events", [str(path)], settings=duck_settings, warehouse=warehouse
    )
    assert summary.written["events"] == 7
    with warehouse.reader() as con:
        events = con.table("events").order_by("event_id").execute()
    # Rows 7-11 repeat e0-e4 in later slices: one copy of each id is kept, never two.
    assert events.event_id.tolist() == [f"e{i}" for i in range(7)]
    for i, user in enumerate(events.user_id):
        assert user in {f"u{i}", f"u{i + 7}"}
