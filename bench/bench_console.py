"""Console pages: server time per page on simulated shops of 1M and 10M events.

Usage: .venv/bin/python bench/bench_console.py [--sizes 1000000,10000000] [--requests 20] [--keep]

For each size: simulate a shop (cached in $TENURE_BENCH_DIR), import it, score churn and CLV,
create an operator, start `tenure serve`, sign in, and request every page of the console
(navigation and detail pages) `--requests` times after two warm-up requests. The figure is the
server's own time from the `Server-Timing` header (what the page costs, without the client), with
the client's wall time beside it. Targets: p95 ≤ 300 ms at 1M events, ≤ 1 s at 10M. The first
view of each page is reported apart: the console caches warehouse answers until the warehouse
changes (web/cache.py), so it is what a page costs right after an import.

The peer is what an analyst would otherwise do for the overview's KPI tiles: pandas on the
simulator's Parquet files (read orders and events, weekly revenue, orders, buyers, AOV, new and
active users for the last 12 weeks), timed in the same run; the ratio is against the overview.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import table, warn_if_busy, write_results

EVENTS_PER_USER = 30.6  # simulator average, from bench/simulate_sizes.md
CACHE = Path(os.environ.get("TENURE_BENCH_DIR", Path(tempfile.gettempdir()) / "tenure-bench"))
PASSWORD = "benchmark password"
TARGET_MS = {1_000_000: 300.0, 10_000_000: 1000.0}


def prepare(events: int, home: Path) -> dict[str, Any]:
    """Simulate (cached), import, score, and create an operator on `home`."""
    from tenure.cli.simulate import import_simulation
    from tenure.config import Settings
    from tenure.kit.time import utc_now
    from tenure.operators.service import create_operator
    from tenure.predict.service import retrain_churn, score_clv
    from tenure.simulate import SimulationConfig, simulate_shop
    from tenure.storage.database import Database
    from tenure.storage.warehouse import Warehouse

    users = round(events / EVENTS_PER_USER)
    sim = CACHE / f"console-sim-{users}"
    timings: dict[str, float] = {}
    if not (sim / "events.parquet").exists():
        t0 = time.perf_counter()
        simulate_shop(SimulationConfig(users=users, seed=5, start=date(2024, 1, 1)), sim)
        timings["simulate_s"] = time.perf_counter() - t0
    settings = Settings(home=home, inbox_flush_seconds=0)
    warehouse = Warehouse(settings)
    t0 = time.perf_counter()
    import_simulation(sim, settings, warehouse)
    timings["import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    retrain_churn(settings, warehouse)
    score_clv(warehouse, settings.zone)
    timings["score_s"] = time.perf_counter() - t0
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    database.write(lambda s: create_operator(s, "bench", PASSWORD, "admin", utc_now()))
    with warehouse.reader() as con:
        counted = con.sql("SELECT count(*) AS n FROM events").execute()["n"].iloc[0]
        top = con.sql(
            "SELECT user_id FROM orders WHERE user_id IS NOT NULL "
            "GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
        ).execute()
    return {
        "users": users,
        "events": int(counted),
        "sim": sim,
        "customer": str(top["user_id"].iloc[0]),
        **timings,
    }


def pandas_kpis(sim: Path) -> float:
    """The peer: the overview's weekly KPI tiles by hand in pandas, from the Parquet files."""
    import pandas as pd

    t0 = time.perf_counter()
    lines = pd.read_parquet(sim / "order_lines.parquet")
    events = pd.read_parquet(sim / "events.parquet", columns=["user_id", "anonymous_id", "ts"])
    lines = lines[lines["status"] != "cancelled"]
    orders = lines.groupby("order_id").agg(
        user_id=("user_id", "first"), ts=("ts", "first"), amount=("line_total", "sum")
    )
    orders["week"] = pd.to_datetime(orders["ts"], utc=True).dt.tz_localize(None).dt.to_period("W")
    weekly = orders.groupby("week").agg(
        revenue=("amount", "sum"), orders=("amount", "size"), buyers=("user_id", "nunique")
    )
    weekly["aov"] = weekly["revenue"] / weekly["orders"]
    events["week"] = pd.to_datetime(events["ts"], utc=True).dt.tz_localize(None).dt.to_period("W")
    who = events["user_id"].fillna(events["anonymous_id"])
    active = who.groupby(events["week"]).nunique()
    first = events.assign(who=who).groupby("who")["week"].min().value_counts()
    summary = weekly.join(active.rename("active")).join(first.rename("new")).tail(12)
    assert len(summary) == 12
    return time.perf_counter() - t0


def serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TENURE_HOME": str(home), "TENURE_INBOX_FLUSH_SECONDS": "0"}
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenure", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError((home / "serve.log").read_text())


def pages(customer: str) -> list[tuple[str, str]]:
    """Every page of the navigation, then the detail pages and the parts htmx loads after them."""
    from urllib.parse import quote

    from tenure.web.render import NAV

    user = quote(customer, safe="")
    return [
        *NAV,
        ("  part: RFM grid", "/customers?part=rfm"),
        ("  part: scores", "/predictions/scores"),
        ("  part: review body", "/review/body"),
        ("funnel paths", "/funnels/paths"),
        ("retention by month", "/retention?period=month&periods=12"),
        ("customer 360", f"/customers/{user}"),
        ("  part: 360 profile", f"/customers/{user}?part=profile"),
        ("segment preview", "/segments/preview?combine=all&field=feature.orders&op=gte&value=2"),
        ("campaign calendar", "/campaigns/calendar"),
    ]


def measure(client: httpx.Client, path: str, requests: int) -> dict[str, Any]:
    """The first view (nothing cached for it yet), then `requests` views after a warm-up one."""
    server, wall, status, first = [], [], 0, float("nan")
    for i in range(requests + 2):
        t0 = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        status = response.status_code
        timing = float(response.headers.get("server-timing", "app;dur=nan").split("dur=")[1])
        if i == 0:
            first = timing
        if i >= 2:
            wall.append(elapsed)
            server.append(timing)
    server.sort()
    return {
        "status": status,
        "first_ms": first,
        "p50_ms": statistics.median(server),
        "p95_ms": server[min(len(server) - 1, round(0.95 * (len(server) - 1)))],
        "max_ms": server[-1],
        "wall_p50_ms": statistics.median(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--keep", action="store_true", help="Keep the homes.")
    args = parser.parse_args()
    load = warn_if_busy()
    results: dict[str, Any] = {"load": load, "requests": args.requests, "sizes": []}
    for size in (int(s) for s in args.sizes.split(",")):
        home = Path(tempfile.mkdtemp(prefix=f"tenure-console-{size}-"))
        shop = prepare(size, home)
        peer_s = min(pandas_kpis(shop["sim"]) for _ in range(3))
        proc = serve(home, args.port)
        rows, measured = [], []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=300) as client:
                signed = client.post("/login", data={"username": "bench", "password": PASSWORD})
                assert signed.status_code == 303
                for name, path in pages(shop["customer"]):
                    figures = measure(client, path, args.requests)
                    measured.append({"page": name, "path": path, **figures})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        target = TARGET_MS.get(size, 1000.0)
        overview = next(m for m in measured if m["page"] == "overview")
        for m in measured:
            rows.append(
                (
                    m["page"],
                    m["status"],
                    m["first_ms"],
                    m["p50_ms"],
                    m["p95_ms"],
                    m["max_ms"],
                    m["wall_p50_ms"],
                    "yes" if m["p95_ms"] <= target and m["status"] == 200 else "NO",
                )
            )
        head = f"{shop['events']:,} events, {shop['users']:,} customers"
        print(f"\n{head} (target p95 ≤ {target:.0f} ms)")
        print(
            table(
                (
                    "page",
                    "status",
                    "first view ms",
                    "p50 ms",
                    "p95 ms",
                    "max ms",
                    "client p50 ms",
                    "meets",
                ),
                rows,
            )
        )
        print(
            f"pandas by hand, only the overview's KPI tiles, from Parquet: {peer_s * 1000:.0f} ms; "
            f"the overview's first view {overview['first_ms']:.0f} ms "
            f"({overview['first_ms'] / (peer_s * 1000):.1f}x pandas; it also counts lifecycle "
            f"stages and risk bands), a repeat view {overview['p50_ms']:.0f} ms"
        )
        results["sizes"].append(
            {
                **{k: v for k, v in shop.items() if k != "sim"},
                "target_ms": target,
                "pandas_overview_kpis_ms": peer_s * 1000,
                "pages": measured,
            }
        )
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print(write_results("console", results))


if __name__ == "__main__":
    main()
