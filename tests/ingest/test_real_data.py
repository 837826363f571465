"""The real datasets: import figures equal an independent pandas computation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import preset
from tenure.storage.warehouse import Warehouse


def test_online_retail_matches_pandas(
    duck_settings: Settings, warehouse: Warehouse, real_data: Path
) -> None:
    files = sorted((real_data / "online_retail").glob("*.csv"))
    raw = pd.concat([pd.read_csv(f, dtype={"InvoiceNo": str, "StockCode": str}) for f in files])
    raw["amount"] = raw.Quantity.map(Decimal) * raw.UnitPrice.astype(str).map(Decimal)
    customers = raw.CustomerID.dropna().astype(int).astype(str)
    invoices = raw.groupby("InvoiceNo").agg(amount=("amount", "sum"), cust=("CustomerID", "first"))
    cancelled = invoices.index.str.startswith("C")

    summary = import_files(
        "orders",
        [str(real_data / "online_retail")],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
    )
    assert summary.rows == len(raw) == 541_909
    assert summary.rejected == 0
    assert summary.figures["customers"] == customers.nunique() == 4372
    assert summary.figures["orders"] == int((~cancelled).sum())
    assert summary.figures["refunds"] == int(cancelled.sum())
    assert Decimal(summary.figures["revenue"]["GBP"]) == sum(raw.amount).quantize(Decimal("0.01"))
    with warehouse.reader() as con:
        orders = con.table("orders").execute().set_index("order_id")
        lines = con.table("order_lines").count().execute()
        guest_revenue = (
            con.table("orders").filter(lambda t: t.user_id.isnull()).amount.sum().execute()
        )
    assert len(orders) == len(invoices) == 25_900
    assert lines == len(raw)
    expected = invoices.amount.map(lambda d: d.quantize(Decimal("0.0001")))
    assert (orders.loc[expected.index, "amount"] == expected).all()
    guests = raw[raw.CustomerID.isna()].amount.sum()
    assert Decimal(guest_revenue) == guests.quantize(Decimal("0.0001"))
    # Invoice 536365 was at 08:26 London time on 2010-12-01 (GMT, so 08:26 UTC).
    assert str(orders.loc["536365", "ts"]) == "2010-12-01 08:26:00+00:00"


def test_cdnow_imports_every_purchase(
    duck_settings: Settings, warehouse: Warehouse, real_data: Path
) -> None:
    path = real_data / "cdnow_master.csv"
    raw = pd.read_csv(path, dtype={"customer_id": str})
    summary = import_files(
        "orders",
        [str(path)],
        settings=duck_settings,
        warehouse=warehouse,
        mapping=preset("cdnow", "orders"),
    )
    assert summary.figures["orders"] == len(raw) == 69_659
    assert summary.figures["customers"] == raw.customer_id.nunique() == 23_570
    total = sum(raw.dollar_value.astype(str).map(Decimal))
    assert Decimal(summary.figures["revenue"]["USD"]) == total.quantize(Decimal("0.01"))
