"""Checkout-time loyalty calls over HTTP: quote + redeem latency (p50/p99) against `tenure serve`.

Starts a real server on a fresh TENURE_HOME (SQLite, and PostgreSQL when reachable), seeds members
with a realistic ledger (many lots each, so the FIFO spend walks real rows), then times the pair a
shop's checkout makes: POST /v1/loyalty/checkout/quote then POST /v1/loyalty/checkout/redeem.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, table, tenure_exe, warn_if_busy, write_results

PG_URL = os.environ.get(
    "TENURE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_schema() -> tuple[str, str] | None:
    """A fresh PostgreSQL schema and its URL, or None when PostgreSQL is not reachable."""
    try:
        import psycopg

        raw = PG_URL.replace("postgresql+psycopg", "postgresql")
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(raw, autocommit=True, connect_timeout=3) as con:
            con.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    except Exception as exc:  # any failure means "skip PostgreSQL"
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(
        PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as con:
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _seed(database_url: str, members: int, lots: int) -> tuple[str, str]:
    """Keys, a program, and `lots` lots of 1,000 points per member (spread over 300 days)."""
    from tenure.apikeys.service import create_key
    from tenure.loyalty import points, uow
    from tenure.loyalty.program import current_program, save_program
    from tenure.storage.database import Database

    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        server = create_key(session, "bench", ["server"]).secret
        admin = create_key(session, "bench-admin", ["admin"]).secret
    now = datetime.now(UTC)
    uow.write(database, lambda s: save_program(s, {"min_redeem_points": 1}, now))
    for m in range(members):

        def work(session: Any, m: int = m) -> None:
            _, program = current_program(session)
            for lot in range(lots):
                at = now - timedelta(days=300 - lot * 300 // lots)
                points.adjust(session, program, f"m{m}", 1_000, "seed", f"seed:{m}:{lot}", at)

        uow.write(database, work)
    database.engine.dispose()
    return server, admin


@contextmanager
def _server(home: Path, database_url: str | None) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "TENURE_HOME": str(home), "TENURE_INBOX_FLUSH_SECONDS": "0"}
    if database_url:
        env["TENURE_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [tenure_exe(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tenure serve did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _checkouts(url: str, key: str, members: int, clients: int, per_client: int) -> dict[str, Any]:
    """Each client runs `per_client` checkouts (quote then redeem) back to back."""
    headers = {"authorization": f"Bearer {key}"}
    quote_ms: list[float] = []
    redeem_ms: list[float] = []
    pair_ms: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(c: int) -> None:
        q, r, p = [], [], []
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            barrier.wait()
            for i in range(per_client):
                user = f"m{(c * per_client + i) % members}"
                order = {"user_id": user, "order_minor": 20_000, "currency": "USD"}
                t0 = time.perf_counter()
                quoted = http.post("/v1/loyalty/checkout/quote", json={**order, "points": 500})
                t1 = time.perf_counter()
                redeemed = http.post(
                    "/v1/loyalty/checkout/redeem",
                    json={**order, "points": quoted.json()["points"]},
                    headers={"Idempotency-Key": f"b-{c}-{i}-{uuid.uuid4().hex[:6]}"},
                )
                t2 = time.perf_counter()
                if redeemed.status_code != 200:
                    with lock:
                        failures.append(redeemed.status_code)
                q.append((t1 - t0) * 1e3)
                r.append((t2 - t1) * 1e3)
                p.append((t2 - t0) * 1e3)
        with lock:
            quote_ms.extend(q)
            redeem_ms.extend(r)
            pair_ms.extend(p)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started

    def pct(values: list[float]) -> dict[str, float]:
        arr = np.array(values)
        return {f"p{q}": round(float(np.percentile(arr, q)), 2) for q in (50, 90, 99)}

    return {
        "clients": clients,
        "checkouts": len(pair_ms),
        "failures": len(failures),
        "checkouts_per_s": round(len(pair_ms) / wall, 1),
        "quote_ms": pct(quote_ms),
        "redeem_ms": pct(redeem_ms),
        "pair_ms": pct(pair_ms),
    }


def main() -> None:
    """Run the bench and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--lots", type=int, default=20, help="Lots (earn entries) per member.")
    parser.add_argument("--checkouts", type=int, default=400, help="Per run (split over clients).")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    load = warn_if_busy()
    runs: list[dict[str, Any]] = []
    for engine in args.engines:
        home = Path(tempfile.mkdtemp(prefix="tenure-bench-loyalty-"))
        pg = _pg_schema() if engine == "postgres" else None
        if engine == "postgres" and pg is None:
            continue
        url = pg[1] if pg else f"sqlite:///{home / 'tenure.db'}"
        try:
            seed_start = time.perf_counter()
            server_key, _ = _seed(url, args.members, args.lots)
            seed_s = time.perf_counter() - seed_start
            with _server(home, url if pg else None) as base:
                _checkouts(base, server_key, args.members, 1, 20)  # warm-up
                for clients in args.clients:
                    result = _checkouts(
                        base, server_key, args.members, clients, args.checkouts // clients
                    )
                    runs.append({"engine": engine, "seed_s": round(seed_s, 1), **result})
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if pg:
                _drop_schema(pg[0])
    rows = [
        [
            r["engine"], r["clients"], r["checkouts"], r["failures"], r["checkouts_per_s"],
            r["quote_ms"]["p50"], r["quote_ms"]["p99"],
            r["redeem_ms"]["p50"], r["redeem_ms"]["p99"],
            r["pair_ms"]["p50"], r["pair_ms"]["p99"],
        ]
        for r in runs
    ]  # fmt: skip
    print(
        table(
            ["engine", "clients", "checkouts", "fail", "per s", "quote p50", "quote p99",
             "redeem p50", "redeem p99", "pair p50", "pair p99"],
            rows,
        )
    )  # fmt: skip
    path = write_results(
        "loyalty", {"load_before": load, "members": args.members, "lots": args.lots, "runs": runs}
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
