"""Importing order files: mapping, time zones, validation, atomicity and idempotency."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tenure.config import Settings
from tenure.ingest.files.errors import BadMapping, ImportRejected, MissingField, UnknownTimezone
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping, preset
from tenure.storage.warehouse import Warehouse
from tests.ingest.builders import retail_file, write

RETAIL = preset("online-retail", "orders")


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted, to compare warehouse states exactly."""
    out = {}
    with warehouse.reader() as con:
        for name in ("orders", "order_lines", "users", "items", "events", "identities"):
            frame = con.table(name).execute()
            rows = [tuple(str(v) for v in row) for row in frame.itertuples(index=False)]
            out[name] = sorted(rows)
    return out


def orders_frame(warehouse: Warehouse) -> pd.DataFrame:
    with warehouse.reader() as con:
        return con.table("orders").order_by("order_id").execute()


class TestLineLevelFiles:
    def test_lines_become_orders_with_summed_amounts(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = retail_file(
            tmp_path / "a.csv",
            "1001,A,Mug,2,2024-03-01 10:00:00,2.50,17850.0,United Kingdom",
            "1001,B,Plate,1,2024-03-01 10:00:00,4.25,17850.0,United Kingdom",
            "1002,A,Mug,3,2024-03-02 09:00:00,2.50,,France",
        )
        summary = import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        assert summary.rows == 3
        assert summary.figures["orders"] == 2
        assert summary.figures["customers"] == 1
        assert summary.figures["guest_orders"] == 1
        assert summary.figures["revenue"] == {"GBP": "16.75"}
        orders = orders_frame(warehouse)
        assert list(orders.order_id) == ["1001", "1002"]
        assert orders.amount.tolist() == [Decimal("9.2500"), Decimal("7.5000")]
        assert orders.user_id.tolist()[0] == "17850"  # float-written id read as an id
        assert pd.isna(orders.user_id.tolist()[1])  # guest order: no customer
        with warehouse.reader() as con:
            lines = con.table("order_lines").order_by(["order_id", "line_no"]).execute()
            users = con.table("users").execute()
            items = con.table("items").order_by("sku").execute()
        assert lines.line_no.tolist() == [1, 2, 1]
        assert users.user_id.tolist() == ["17850"]
        assert users.country.tolist() == ["United Kingdom"]
        assert items.name.tolist() == ["Mug", "Plate"]

    def test_cancellation_invoices_are_negative_refund_documents(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = retail_file(
            tmp_path / "a.csv",
            "1001,A,Mug,2,2024-03-01 10:00:00,2.50,17850.0,United Kingdom",
            "C1002,A,Mug,-1,2024-03-03 10:00:00,2.50,17850.0,United Kingdom",
        )
        summary = import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        assert summary.figures["refunds"] == 1
        assert summary.figures["revenue"] == {"GBP": "2.50"}
        orders = orders_frame(warehouse)
        assert orders.status.tolist() == ["paid", "refunded"]
        assert orders.amount.tolist() == [Decimal("5.0000"), Decimal("-2.5000")]

    def test_zero_quantity_and_line_totals_are_handled(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path / "lines.csv",
            """order,sku,qty,total,when
               o1,A,0,0,2024-01-01T10:00:00Z
               o1,B,4,10.00,2024-01-01T10:00:00Z
               o2,A,-2,-5.00,2024-01-02T10:00:00Z""",
        )
        mapping = Mapping(
            columns={"order": "order_id", "qty": "quantity", "total": "line_total", "when": "ts"}
        )
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
        )
        with warehouse.reader() as con:
            lines = con.table("order_lines").order_by(["order_id", "line_no"]).execute()
        assert lines.quantity.tolist() == [0, 4, -2]
        assert lines.unit_price.tolist()[1:] == [Decimal("2.5000"), Decimal("2.5000")]
        assert pd.isna(lines.unit_price.tolist()[0])  # 0 of something: no price to infer
        assert orders_frame(warehouse).amount.tolist() == [Decimal("10.0000"), Decimal("-5.0000")]


class TestTimeZones:
    def test_naive_times_are_read_in_the_shop_zone_and_stored_in_utc(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        # 2024-07-01 00:30 in London (BST, UTC+1) is 2024-06-30 23:30 UTC.
        path = retail_file(tmp_path / "a.csv", "1,A,Mug,1,2024-07-01 00:30:00,1.00,1,UK")
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        ts = orders_frame(warehouse).ts.iloc[0].to_pydatetime()
        assert ts == datetime(2024, 6, 30, 23, 30, tzinfo=UTC)

    def test_explicit_offsets_win_over_the_zone(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path / "o.csv",
            """order_id,ts,amount
               a,2024-01-05T23:30:00+08:00,10
               b,2024-01-05 23:30:00,10""",
        )
        mapping = Mapping(timezone="Asia/Shanghai")
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
        )
        ts = [t.to_pydatetime() for t in orders_frame(warehouse).ts]
        assert ts == [datetime(2024, 1, 5, 15, 30, tzinfo=UTC)] * 2

    def test_an_unknown_zone_name_is_refused_before_anything_is_read(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "o.csv", "order_id,ts,amount\na,2024-01-05 23:30:00,10")
        with pytest.raises(UnknownTimezone, match="Mars/Olympus"):
            import_files(
                "orders",
                [str(path)],
                settings=duck_settings,
                warehouse=warehouse,
                mapping=Mapping(timezone="Mars/Olympus"),
            )
        assert orders_frame(warehouse).empty

    def test_custom_date_format(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "o.csv", "id,date,value\nx,05/01/2024 13:00,3.5")
        mapping = Mapping(
            columns={"id": "order_id", "date": "ts", "value": "amount"},
            date_format="%d/%m/%Y %H:%M",
        )
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
        )
        assert orders_frame(warehouse).ts.iloc[0].to_pydatetime() == datetime(
            2024, 1, 5, 13, 0, tzinfo=UTC
        )


class TestValidation:
    def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_written(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        good = retail_file(tmp_path / "good.csv", "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK")
        import_files(
            "orders", [str(good)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        before = snapshot(warehouse)
        bad = retail_file(
            tmp_path / "bad.csv",
            "2,A,Mug,1,2024-01-02 10:00:00,1.00,1,UK",
            "3,A,Mug,one,2024-01-02 10:00:00,1.00,1,UK",
            "4,A,Mug,1,yesterday,1.00,1,UK",
            "5,A,Mug,1,2024-01-02 10:00:00,cheap,1,UK",
        )
        with pytest.raises(ImportRejected) as caught:
            import_files(
                "orders", [str(bad)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
            )
        error = caught.value
        assert error.data["rejected"] == 3
        assert [(Path(s["file"]).name, s["line"]) for s in error.data["sample"]] == [
            ("bad.csv", 3),
            ("bad.csv", 4),
            ("bad.csv", 5),
        ]
        reasons = [s["reason"] for s in error.data["sample"]]
        assert "quantity" in reasons[0] and "one" in reasons[0]
        assert "ts" in reasons[1] and "yesterday" in reasons[1]
        assert "unit_price" in reasons[2] and "cheap" in reasons[2]
        report = pd.read_csv(error.data["report"])
        assert report.line.tolist() == [3, 4, 5]
        assert snapshot(warehouse) == before

    def test_max_rejects_skips_whole_orders_never_part_of_one(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = retail_file(
            tmp_path / "a.csv",
            "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK",
            "1,B,Cup,x,2024-01-01 10:00:00,1.00,1,UK",
            "2,A,Mug,1,2024-01-01 11:00:00,1.00,1,UK",
        )
        summary = import_files(
            "orders",
            [str(path)],
            settings=duck_settings,
            warehouse=warehouse,
            mapping=RETAIL,
            max_rejects=5,
        )
        assert summary.rejected == 2
        assert orders_frame(warehouse).order_id.tolist() == ["2"]

    def test_lines_of_one_order_naming_two_customers_are_rejected(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = retail_file(
            tmp_path / "a.csv",
            "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK",
            "1,B,Cup,1,2024-01-01 10:00:00,1.00,2,UK",
        )
        with pytest.raises(ImportRejected) as caught:
            import_files(
                "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
            )
        assert "different customers" in caught.value.data["sample"][0]["reason"]

    def test_a_missing_required_field_names_the_columns_found(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "o.csv", "id,value\nx,1")
        with pytest.raises(MissingField) as caught:
            import_files("orders", [str(path)], settings=duck_settings, warehouse=warehouse)
        assert "ts" in caught.value.message and "id, value" in caught.value.message

    def test_mapping_to_an_unknown_field_is_refused(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "o.csv", "id,ts,amount\nx,2024-01-01,1")
        with pytest.raises(BadMapping):
            import_files(
                "orders",
                [str(path)],
                settings=duck_settings,
                warehouse=warehouse,
                mapping=Mapping(columns={"id": "orderid"}),
            )

    def test_unknown_status_is_rejected_and_synonyms_are_read(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path / "o.csv",
            "order_id,ts,amount,status\na,2024-01-01,5,Completed\nb,2024-01-01,5,Canceled\nc,2024-01-01,5,lost",
        )
        with pytest.raises(ImportRejected) as caught:
            import_files("orders", [str(path)], settings=duck_settings, warehouse=warehouse)
        assert [s["line"] for s in caught.value.data["sample"]] == [4]
        path.write_text(
            "order_id,ts,amount,status\na,2024-01-01,5,Completed\nb,2024-01-01,5,Canceled\nr,2024-01-02,5,refund\n"
        )
        import_files("orders", [str(path)], settings=duck_settings, warehouse=warehouse)
        orders = orders_frame(warehouse)
        assert orders.status.tolist() == ["paid", "cancelled", "refunded"]
        assert orders.amount.tolist()[2] == Decimal("-5.0000")


class TestIdempotencyAndAtomicity:
    def test_importing_the_same_files_twice_changes_nothing(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        a = retail_file(
            tmp_path / "a.csv",
            "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK",
            "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK",
        )
        b = retail_file(tmp_path / "b.csv", "2,B,Cup,2,2024-01-02 10:00:00,3.00,2,FR")
        import_files(
            "orders",
            [str(tmp_path / "*.csv")],
            settings=duck_settings,
            warehouse=warehouse,
            mapping=RETAIL,
        )
        first = snapshot(warehouse)
        import_files(
            "orders", [str(a), str(b)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        assert snapshot(warehouse) == first
        assert len(first["order_lines"]) == 3  # repeated identical lines are two lines, kept

    def test_rows_without_order_ids_get_stable_content_ids(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path / "cd.csv",
            "customer_id,date,number_of_cds,dollar_value\n00001,19970101,1,11.77\n00001,19970101,1,11.77\n00002,19970112,2,24.00",
        )
        mapping = preset("cdnow", "orders")
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
        )
        first = snapshot(warehouse)
        import_files(
            "orders", [str(path)], settings=duck_settings, warehouse=warehouse, mapping=mapping
        )
        assert snapshot(warehouse) == first
        assert len(first["orders"]) == 3
        props = sorted(json.loads(p)["number_of_cds"] for p in orders_frame(warehouse).properties)
        assert props == ["1", "1", "2"]

    def test_a_crash_mid_import_leaves_the_warehouse_as_it_was(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        seed = retail_file(tmp_path / "seed.csv", "1,A,Mug,1,2024-01-01 10:00:00,1.00,1,UK")
        import_files(
            "orders", [str(seed)], settings=duck_settings, warehouse=warehouse, mapping=RETAIL
        )
        before = snapshot(warehouse)
        big = retail_file(
            tmp_path / "big.csv",
            *[f"{9000 + i},A,Mug,1,2024-01-02 10:00:00,1.00,{i},UK" for i in range(2000)],
        )
        # The child dies hard (no cleanup, no rollback) after orders are written, before lines are.
        script = f"""
import os
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.storage import writers
from tenure.storage.warehouse import Warehouse
original = writers.DuckDBWriter.upsert
def dying(self, table, data, key=None):
    if table == "order_lines":
        os._exit(137)
    return original(self, table, data, key)
writers.DuckDBWriter.upsert = dying
s = Settings(home={str(duck_settings.home)!r})
import_files("orders", [{str(big)!r}], settings=s, warehouse=Warehouse(s), mapping=preset("online-retail", "orders"))
"""
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, timeout=120, env={**os.environ}
        )
        assert proc.returncode == 137, proc.stderr.decode()
        assert snapshot(warehouse) == before


class TestFormats:
    def test_parquet_excel_and_gzip_give_the_same_orders(
        self, duck_settings: Settings, tmp_path: Path
    ) -> None:
        frame = pd.DataFrame(
            {
                "order_id": ["a", "b"],
                "user_id": ["u1", "u2"],
                "ts": ["2024-01-01 10:00:00", "2024-01-02 11:00:00"],
                "amount": ["10.50", "3.25"],
                "channel": ["email", "organic"],
                "coupon": ["X", None],
            }
        )
        csv_gz = tmp_path / "o.csv.gz"
        with gzip.open(csv_gz, "wt") as fh:
            frame.to_csv(fh, index=False)
        parquet = tmp_path / "o.parquet"
        typed = frame.assign(
            ts=pd.to_datetime(frame.ts).dt.tz_localize("UTC"), amount=frame.amount.astype(float)
        )
        typed.to_parquet(parquet)
        xlsx = tmp_path / "o.xlsx"
        frame.to_excel(xlsx, index=False)
        results = []
        for i, path in enumerate((csv_gz, parquet, xlsx)):
            settings = Settings(home=tmp_path / f"h{i}")
            wh = Warehouse(settings)
            wh.init()
            import_files("orders", [str(path)], settings=settings, warehouse=wh)
            results.append(snapshot(wh)["orders"])
        assert results[0] == results[1] == results[2]
        assert json.loads(orders_frame_of(results[0])) == {"coupon": "X"}

    def test_unmapped_columns_are_kept_as_properties(
        self, duck_settings: Settings, warehouse: Warehouse, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path / "o.csv", "order_id,ts,amount,coupon,device\na,2024-01-01,5,SPRING,ios"
        )
        import_files("orders", [str(path)], settings=duck_settings, warehouse=warehouse)
        assert json.loads(orders_frame(warehouse).properties.iloc[0]) == {
            "coupon": "SPRING",
            "device": "ios",
        }


def orders_frame_of(rows: list[tuple[object, ...]]) -> str:
    """The properties column of the first order in a snapshot."""
    return str(rows[0][-1])
