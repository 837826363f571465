"""Checkout latency through `tenure serve`: quote and reserve p50/p99 for a typical cart
(5 lines, 3 automatic offers, 1 single-use code), plus the in-process pricing time."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, table, tenure_exe, warn_if_busy, write_results

from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.promotions import views
from tenure.promotions.schemas import CheckoutIn
from tenure.promotions.service import pricing
from tenure.storage.database import Database

OFFERS: list[dict[str, Any]] = [
    {"name": "满200减20 满300减40", "kind": "automatic", "benefit": {"type": "ladder", "steps": [
        {"threshold_minor": 20000, "amount_off_minor": 2000},
        {"threshold_minor": 30000, "amount_off_minor": 4000}]}},
    {"name": "free shipping over 99", "kind": "automatic", "benefit": {"type": "free_shipping"},
     "conditions": [{"type": "min_spend", "amount_minor": 9900}]},
    {"name": "tote bag gift", "kind": "automatic", "stock": 1_000_000,
     "benefit": {"type": "gift", "sku": "TOTE", "value_minor": 1500},
     "conditions": [{"type": "min_quantity", "quantity": 3}]},
]  # fmt: skip
COUPON: dict[str, Any] = {
    "name": "10% off, up to 30", "kind": "coupon",
    "benefit": {"type": "percent_off", "bps": 1000, "cap_minor": 3000},
    "conditions": [{"type": "min_spend", "amount_minor": 10000}],
}  # fmt: skip
LINES = [
    {"sku": "MUG-01", "quantity": 2, "unit_price_minor": 1890, "category": "kitchen"},
    {"sku": "PLANT-7", "quantity": 1, "unit_price_minor": 4500, "category": "garden"},
    {"sku": "LAMP-3", "quantity": 1, "unit_price_minor": 12900, "category": "lighting"},
    {"sku": "PEN-12", "quantity": 3, "unit_price_minor": 450, "category": "stationery"},
    {"sku": "THROW-2", "quantity": 1, "unit_price_minor": 5900, "category": "textiles"},
]


class Server:
    """`tenure serve` on a free port for a home; stopped on exit."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [tenure_exe(), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("tenure serve did not answer /healthz within 90 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc): unlike wall time, it does not
    grow when other work on a shared machine keeps the server waiting for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds."""
    ms = np.array(samples_s) * 1000
    return {
        "n": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def timed(
    client: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.post(path, json=body, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code not in (200, 201):
        raise SystemExit(f"{path} answered {response.status_code}: {response.text}")
    return elapsed, response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotes", type=int, default=1000, help="Timed quote calls.")
    parser.add_argument("--reserves", type=int, default=500, help="Timed reserve calls.")
    parser.add_argument("--warmup", type=int, default=50, help="Untimed calls first.")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: SQLite in the home)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary home.")
    args = parser.parse_args()
    load = warn_if_busy()

    home = Path(tempfile.mkdtemp(prefix="tenure-bench-checkout-"))
    env = {
        **os.environ,
        "TENURE_HOME": str(home),
        "TENURE_INBOX_FLUSH_SECONDS": "0",
        "TENURE_CURRENCY": "USD",
    }
    if args.database_url:
        env["TENURE_DATABASE_URL"] = args.database_url
    env.pop("TENURE_WAREHOUSE", None)
    settings = Settings(
        home=home, database_url=args.database_url, inbox_flush_seconds=0, currency="USD"
    )
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    with database.session() as session:
        admin = {"authorization": f"Bearer {create_key(session, 'bench-admin', ['admin']).secret}"}
        shop = {"authorization": f"Bearer {create_key(session, 'bench-shop', ['server']).secret}"}

    server = Server(home, env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for spec in OFFERS:
                client.post("/v1/promotions/offers", json=spec, headers=admin).raise_for_status()
            coupon = client.post("/v1/promotions/offers", json=COUPON, headers=admin).json()["id"]
            wanted = args.warmup + args.reserves + 1
            codes = client.post(
                f"/v1/promotions/offers/{coupon}/codes", json={"count": wanted}, headers=admin
            )
            codes.raise_for_status()
            pool = codes.json()["codes"]

            def cart(i: int) -> dict[str, Any]:
                return {
                    "user_id": f"user-{i}",
                    "lines": LINES,
                    "shipping_minor": 800,
                    "codes": [pool[i]],
                }

            health = []
            for _ in range(args.quotes):
                started = time.perf_counter()
                client.get("/healthz").raise_for_status()
                health.append(time.perf_counter() - started)
            _, sample = timed(client, "/v1/checkout/quote", cart(0), shop)
            assert len(sample["applied"]) == 4, sample  # 3 offers + the code on every timed cart
            for i in range(args.warmup):
                timed(client, "/v1/checkout/quote", cart(i), shop)
            cpu_before = cpu_seconds(server.proc.pid)
            quotes = [
                timed(client, "/v1/checkout/quote", cart(i % len(pool)), shop)[0]
                for i in range(args.quotes)
            ]
            quote_cpu_ms = (cpu_seconds(server.proc.pid) - cpu_before) / args.quotes * 1000
            for i in range(args.warmup):
                timed(
                    client,
                    "/v1/checkout/reservations",
                    cart(i),
                    {**shop, "Idempotency-Key": f"w{i}"},
                )
            reserves = []
            cpu_before = cpu_seconds(server.proc.pid)
            for i in range(args.warmup, args.warmup + args.reserves):
                key = {**shop, "Idempotency-Key": uuid.uuid4().hex}
                elapsed, held = timed(client, "/v1/checkout/reservations", cart(i), key)
                assert held["status"] == "held" and len(held["quote"]["applied"]) == 4
                reserves.append(elapsed)
            reserve_cpu_ms = (cpu_seconds(server.proc.pid) - cpu_before) / args.reserves * 1000
    finally:
        server.stop()

    # The same pricing in process: what the HTTP figures spend outside the rules.
    body = CheckoutIn.model_validate(cart(len(pool) - 1))  # the one code no reserve used
    in_process = []
    cpu_started = time.thread_time()
    for _ in range(args.quotes):
        started = time.perf_counter()
        with database.session() as session:
            views.quote_out(pricing.quote(session, body, "USD", utc_now())).model_dump_json()
        in_process.append(time.perf_counter() - started)
    in_process_cpu_ms = (time.thread_time() - cpu_started) / args.quotes * 1000

    results = {
        "database": "postgresql" if args.database_url else "sqlite",
        "server_cpu_ms_per_quote": quote_cpu_ms,
        "server_cpu_ms_per_reserve": reserve_cpu_ms,
        "in_process_cpu_ms_per_quote": in_process_cpu_ms,
        "load_at_start": load,
        "quote_http": percentiles(quotes),
        "reserve_http": percentiles(reserves),
        "quote_in_process": percentiles(in_process),
        "healthz_http": percentiles(health),
        "sample_quote": sample,
    }
    rows = [
        [name, r["n"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"]]
        for name, r in (
            ("quote (HTTP)", results["quote_http"]),
            ("reserve (HTTP)", results["reserve_http"]),
            ("quote (in process)", results["quote_in_process"]),
            ("GET /healthz (HTTP floor)", results["healthz_http"]),
        )
    ]
    print(
        f"database: {results['database']}; server CPU per call: quote {quote_cpu_ms:.2f} ms,"
        f" reserve {reserve_cpu_ms:.2f} ms; in-process quote CPU {in_process_cpu_ms:.2f} ms"
    )
    print(table(["call", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    print(f"results: {write_results('checkout', results)}")
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
