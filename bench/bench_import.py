"""Import the whole UCI Online Retail set with Tenure and with the scripts a user would write."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    ChildRun,
    data_dir,
    run_child,
    table,
    tenure_exe,
    warn_if_busy,
    write_results,
)

EXPECTED = {"orders": 25_900, "lines": 541_909, "customers": 4_372}
TARGET_S = 30.0
CONTENDERS = ("tenure", "tenure-reimport", "tenure-cli", "pandas", "duckdb-sql")


def _files(folder: Path) -> list[Path]:
    """The daily CSVs, in name order."""
    return sorted(folder.glob("*.csv"))


def _money(value: Any) -> str:
    """A sum rounded to the penny, as text."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


# --- contenders (each runs in its own child process) -------------------------------------------


def worker_tenure(folder: Path, home: Path) -> dict[str, Any]:
    """Tenure's Python API: import_files with the online-retail preset, then count what landed."""
    from tenure.config import Settings
    from tenure.ingest.files.importer import import_files
    from tenure.ingest.files.mapping import preset
    from tenure.storage.warehouse import Warehouse

    settings = Settings(home=home)
    home.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(settings)
    warehouse.init()
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            stages[stage] = round(time.perf_counter() - started, 3)

    summary = import_files(
        "orders",
        [str(folder)],
        settings=settings,
        warehouse=warehouse,
        mapping=preset("online-retail", "orders"),
        progress=progress,
    )
    seconds = time.perf_counter() - started
    with warehouse.reader() as con:
        orders, lines, users = (con.table(t) for t in ("orders", "order_lines", "users"))
        checks = {
            "orders": int(orders.count().execute()),
            "lines": int(lines.count().execute()),
            "customers": int(orders.user_id.nunique().execute()),
            "revenue": _money(orders.amount.sum().execute()),
            "line_revenue": _money(lines.line_total.sum().execute()),
            "users_table": int(users.count().execute()),
        }
    return {
        "seconds": seconds,
        "stages_cumulative_s": stages,
        "rejected": summary.rejected,
        "summary_revenue": summary.figures.get("revenue"),
        "checks": checks,
    }


def worker_pandas(folder: Path, out: Path) -> dict[str, Any]:
    """What a user writes by hand: read_csv every file, concat, derive, group, write Parquet."""
    import pandas as pd
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines = pd.concat(
        (
            pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str})
            for path in _files(folder)
        ),
        ignore_index=True,
    )
    lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    lines["CustomerID"] = lines["CustomerID"].astype("Int64")
    lines["amount"] = lines["Quantity"] * lines["UnitPrice"]
    lines["line_no"] = lines.groupby("InvoiceNo", sort=False).cumcount() + 1
    orders = lines.groupby("InvoiceNo", as_index=False).agg(
        customer_id=("CustomerID", "first"),
        ts=("InvoiceDate", "min"),
        amount=("amount", "sum"),
        country=("Country", "first"),
        lines=("StockCode", "size"),
    )
    orders["status"] = (
        orders["InvoiceNo"].str.startswith("C").map({True: "refunded", False: "paid"})
    )
    customers = (
        lines.dropna(subset=["CustomerID"])
        .groupby("CustomerID", as_index=False)
        .agg(first_seen=("InvoiceDate", "min"), country=("Country", "first"))
    )
    items = (
        lines.sort_values("InvoiceDate")
        .groupby("StockCode", as_index=False)
        .agg(name=("Description", "last"), price=("UnitPrice", "last"))
    )
    lines.to_parquet(out / "order_lines.parquet", index=False)
    orders.to_parquet(out / "orders.parquet", index=False)
    customers.to_parquet(out / "customers.parquet", index=False)
    items.to_parquet(out / "items.parquet", index=False)
    seconds = time.perf_counter() - started
    written = pq.read_table(out / "orders.parquet").to_pandas()
    checks = {
        "orders": len(written),
        "lines": pq.read_metadata(out / "order_lines.parquet").num_rows,
        "customers": int(written["customer_id"].nunique()),
        "revenue": _money(round(float(written["amount"].sum()), 6)),
        "line_revenue": _money(round(float(lines["amount"].sum()), 6)),
        "users_table": pq.read_metadata(out / "customers.parquet").num_rows,
    }
    return {"seconds": seconds, "checks": checks}


def worker_duckdb(folder: Path, out: Path) -> dict[str, Any]:
    """What a SQL user writes: DuckDB read_csv over the folder into a DuckDB file."""
    # Columns declared, auto_detect off: with `types=` or a plain `FROM 'dir/*.csv'`, DuckDB 1.5
    # sniffs all 305 files and the same load takes 15-18 s instead of about 1 s.
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(out / "retail.duckdb"))
    types = {
        "InvoiceNo": "VARCHAR",
        "StockCode": "VARCHAR",
        "Description": "VARCHAR",
        "Quantity": "BIGINT",
        "InvoiceDate": "TIMESTAMP",
        "UnitPrice": "DECIMAL(18,4)",
        "CustomerID": "DOUBLE",
        "Country": "VARCHAR",
    }
    con.execute(
        f"""CREATE TABLE order_lines AS
            SELECT * REPLACE (CAST(CustomerID AS BIGINT) AS CustomerID),
                   Quantity * UnitPrice AS amount
            FROM read_csv('{folder}/*.csv', header = true, auto_detect = false,
                          columns = {types!r})"""
    )
    con.execute(
        """CREATE TABLE orders AS
           SELECT InvoiceNo, any_value(CustomerID) AS customer_id, min(InvoiceDate) AS ts,
                  sum(amount) AS amount, any_value(Country) AS country, count(*) AS lines,
                  CASE WHEN InvoiceNo LIKE 'C%' THEN 'refunded' ELSE 'paid' END AS status
           FROM order_lines GROUP BY InvoiceNo"""
    )
    con.execute(
        """CREATE TABLE customers AS SELECT CustomerID, min(InvoiceDate) AS first_seen,
                  arg_min(Country, InvoiceDate) AS country
           FROM order_lines WHERE CustomerID IS NOT NULL GROUP BY CustomerID"""
    )
    con.execute(
        """CREATE TABLE items AS SELECT StockCode, arg_max(Description, InvoiceDate) AS name,
                  arg_max(UnitPrice, InvoiceDate) AS price FROM order_lines GROUP BY StockCode"""
    )
    con.close()
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(out / "retail.duckdb"), read_only=True)
    row = con.execute(
        """SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),
                  (SELECT count(DISTINCT customer_id) FROM orders),
                  (SELECT sum(amount) FROM orders),
                  (SELECT sum(amount) FROM order_lines), (SELECT count(*) FROM customers)"""
    ).fetchone()
    assert row is not None
    checks = {
        "orders": row[0],
        "lines": row[1],
        "customers": row[2],
        "revenue": _money(row[3]),
        "line_revenue": _money(row[4]),
        "users_table": row[5],
    }
    return {"seconds": seconds, "checks": checks}


def worker_main(args: argparse.Namespace) -> None:
    """Child entry point: run one contender and print its JSON result."""
    folder, target = Path(args.data), Path(args.target)
    workers = {"tenure": worker_tenure, "pandas": worker_pandas, "duckdb-sql": worker_duckdb}
    print(json.dumps(workers[args.worker](folder, target), default=str))


# --- orchestration ------------------------------------------------------------------------------


def _child(worker: str, folder: Path, target: Path) -> ChildRun:
    """One contender in a fresh interpreter."""
    args = [
        sys.executable,
        __file__,
        "--worker",
        worker,
        "--data",
        str(folder),
        "--target",
        str(target),
    ]
    return run_child(args)


def _cli(folder: Path, home: Path) -> ChildRun:
    """`tenure import orders DIR --preset online-retail --format json`, timed as a whole process."""
    env = {**os.environ, "TENURE_HOME": str(home)}
    args = [
        tenure_exe(),
        "import",
        "orders",
        str(folder),
        "--preset",
        "online-retail",
        "--format",
        "json",
    ]
    run = run_child(args, env=env)
    if run.returncode == 0:
        run.output = {"seconds": run.wall_s, "cli_reported_s": run.output.get("seconds")}
    return run


def run_all(folder: Path, repeat: int, keep: bool) -> dict[str, Any]:
    """Every contender `repeat` times, fresh output folders each time; tenure-reimport reuses."""
    runs: dict[str, list[ChildRun]] = {name: [] for name in CONTENDERS}
    scratch = Path(tempfile.mkdtemp(prefix="tenure-bench-import-"))
    try:
        for n in range(repeat):
            home = scratch / f"home-{n}"
            runs["tenure"].append(_child("tenure", folder, home))
            runs["tenure-reimport"].append(_child("tenure", folder, home))
            runs["tenure-cli"].append(_cli(folder, scratch / f"cli-{n}"))
            runs["pandas"].append(_child("pandas", folder, scratch / f"pandas-{n}"))
            runs["duckdb-sql"].append(_child("duckdb-sql", folder, scratch / f"duckdb-{n}"))
            for name, got in runs.items():
                if got and got[-1].returncode != 0:
                    raise SystemExit(f"{name} failed ({got[-1].returncode}):\n{got[-1].stderr}")
            print(
                f"round {n + 1}/{repeat}: "
                + ", ".join(f"{k} {v[-1].output['seconds']:.2f}s" for k, v in runs.items()),
                flush=True,
            )
    finally:
        if keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return _summarise(runs)


def _summarise(runs: dict[str, list[ChildRun]]) -> dict[str, Any]:
    """Median seconds, rows/s, ratio to pandas, peak RSS and checks per contender."""
    lines = EXPECTED["lines"]
    pandas_s = statistics.median(r.output["seconds"] for r in runs["pandas"])
    reference = runs["pandas"][0].output["checks"]
    out: dict[str, Any] = {}
    for name, got in runs.items():
        seconds = [r.output["seconds"] for r in got]
        median = statistics.median(seconds)
        checks = got[0].output.get("checks")
        out[name] = {
            "seconds_median": round(median, 3),
            "seconds_all": [round(s, 3) for s in seconds],
            "rows_per_s": round(lines / median),
            "ratio_to_pandas": round(median / pandas_s, 3),
            "peak_rss_mb": round(max(r.max_rss_mb for r in got), 1),
            "child_cpu_s": round(statistics.median(r.cpu_s for r in got), 2),
            "process_wall_s": round(statistics.median(r.wall_s for r in got), 3),
            "checks": checks,
            "checks_ok": _checks_ok(checks, reference) if checks else None,
            **{k: v for k, v in got[0].output.items() if k not in ("seconds", "checks")},
        }
    return out


def _checks_ok(checks: dict[str, Any], reference: dict[str, Any]) -> bool:
    """Same orders, lines, customers as expected and the same revenue as pandas, to the penny."""
    counts = all(checks[k] == v for k, v in EXPECTED.items())
    return counts and checks["revenue"] == reference["line_revenue"] == checks["line_revenue"]


def report(results: dict[str, Any]) -> None:
    """Print the timing table and the correctness check."""
    rows = [
        (
            name,
            r["seconds_median"],
            r["rows_per_s"],
            f"{r['ratio_to_pandas']:.2f}x",
            r["peak_rss_mb"],
            r["process_wall_s"],
            r["child_cpu_s"],
        )
        for name, r in results.items()
    ]
    headers = ("contender", "seconds", "rows/s", "vs pandas", "peak RSS MB", "process s", "CPU s")
    print()
    print(table(headers, rows))
    print()
    check_rows = []
    for name, r in results.items():
        c = r["checks"]
        if c:
            check_rows.append(
                (
                    name,
                    c["orders"],
                    c["lines"],
                    c["customers"],
                    c["revenue"],
                    "OK" if r["checks_ok"] else "MISMATCH",
                )
            )
    print(table(("check", "orders", "lines", "customers", "revenue", "result"), check_rows))
    tenure_s = results["tenure"]["seconds_median"]
    verdict = "meets" if tenure_s < TARGET_S else "MISSES"
    print(
        f"\ntenure import {tenure_s:.2f}s {verdict} the < {TARGET_S:.0f}s target; "
        f"expected orders {EXPECTED['orders']:,}, lines {EXPECTED['lines']:,}, "
        f"customers {EXPECTED['customers']:,}"
    )


def main() -> None:
    """Parse arguments; run as the orchestrator or as one contender's child."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds of every contender.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    parser.add_argument(
        "--worker", choices=("tenure", "pandas", "duckdb-sql"), help=argparse.SUPPRESS
    )
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    folder = data_dir() / "online_retail"
    if not folder.is_dir():
        raise SystemExit(f"Online Retail CSVs not found in {folder} (set TENURE_DATA_DIR)")
    load = warn_if_busy()
    print(
        f"importing {len(_files(folder))} files from {folder}, {args.repeat} round(s)", flush=True
    )
    results = run_all(folder, args.repeat, args.keep)
    report(results)
    data = {
        "data": str(folder),
        "repeat": args.repeat,
        "loadavg_at_start": load,
        "results": results,
    }
    path = write_results("import", data)
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
