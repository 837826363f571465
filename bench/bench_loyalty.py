"""Loyalty over HTTP against `tenure serve`: checkout quote + redeem latency, and a sustained
earn/spend mix (operations per second, p50/p99) ending with a check of the whole ledger.

Starts a real server on a fresh TENURE_HOME (SQLite, and PostgreSQL when reachable) and seeds
members with a realistic ledger (many lots each, so the FIFO spend walks real rows).
- `checkout`: the pair a shop's checkout makes, POST /v1/loyalty/checkout/quote then …/redeem.
- `mixed`: N clients for a fixed time, each operation either an earn (POST /v1/loyalty/orders, an
  order paid) or a spend (POST …/checkout/redeem then …/redemptions/{id}/confirm). Afterwards the
  ledger must agree with itself and with the clients' own tally: every member's entries sum to the
  balance their last transaction recorded and to what the clients earned and spent, and no balance
  or lot is negative.
"""

from __future__ import annotations

import argparse
import os
import random
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


SEED_POINTS = 1_000  # per lot


def _seed(
    database_url: str, members: int, lots: int, prefixes: tuple[str, ...] = ("m", "x")
) -> tuple[str, str]:
    """Keys, a program, and `lots` lots of 1,000 points, spread over 300 days, for each member of
    the sets named by `prefixes` (`m…` for checkouts, `x…` for the mixed workload)."""
    from tenure.apikeys.service import create_key
    from tenure.loyalty import points
    from tenure.loyalty.program import current_program, save_program
    from tenure.storage.database import Database

    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        server = create_key(session, "bench", ["server"]).secret
        admin = create_key(session, "bench-admin", ["admin"]).secret
    now = datetime.now(UTC)
    # No return window: points an order earns are spendable at once, so the mixed workload's
    # spends also draw on lots its own earns made.
    program_doc = {"min_redeem_points": 1, "return_window_days": 0}
    database.write(lambda s: save_program(s, program_doc, now))
    for user in [f"{prefix}{m}" for prefix in prefixes for m in range(members)]:

        def work(session: Any, user: str = user) -> None:
            _, program = current_program(session)
            for lot in range(lots):
                at = now - timedelta(days=300 - lot * 300 // lots)
                key = f"seed:{user}:{lot}"
                points.adjust(session, program, user, SEED_POINTS, "seed", key, at)

        database.write(work)
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


def _pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.array(values)
    return {f"p{q}": round(float(np.percentile(arr, q)), 2) for q in (50, 90, 99)}


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

    return {
        "clients": clients,
        "checkouts": len(pair_ms),
        "failures": len(failures),
        "checkouts_per_s": round(len(pair_ms) / wall, 1),
        "quote_ms": _pct(quote_ms),
        "redeem_ms": _pct(redeem_ms),
        "pair_ms": _pct(pair_ms),
    }


class Tally:
    """What the clients saw the server accept, per member: the check the ledger must pass."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.available: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        self.unknown: set[str] = set()  # a request failed midway: its outcome is not known

    def add(self, user: str, available: int = 0, pending: int = 0) -> None:
        """Record points that moved for `user`."""
        with self.lock:
            self.available[user] = self.available.get(user, 0) + available
            self.pending[user] = self.pending.get(user, 0) + pending


def _mixed(
    url: str,
    key: str,
    members: int,
    clients: int,
    seconds: float,
    spend_share: float,
    tally: Tally,
    seed: int,
) -> dict[str, Any]:
    """`clients` threads for `seconds`: each operation an earn (order paid) or a spend (redeem
    then confirm), on a random member of the `x…` set."""
    headers = {"authorization": f"Bearer {key}"}
    earn_ms: list[float] = []
    spend_ms: list[float] = []
    counts = {"earns": 0, "spends": 0, "refused": 0, "failures": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    run = uuid.uuid4().hex[:8]
    deadline = [0.0]

    def earn(http: httpx.Client, user: str, n: int, rng: random.Random) -> bool:
        body = {"order_id": f"bench-{run}-{n}", "user_id": user,
                "amount_minor": rng.randrange(1_000, 30_000), "currency": "USD"}  # fmt: skip
        got = http.post("/v1/loyalty/orders", json=body)
        if got.status_code != 200:
            return False
        out = got.json()
        earned = out["points"] + out["bonus_points"]
        if out["pending"]:
            tally.add(user, pending=earned)
        else:
            tally.add(user, available=earned)
        return True

    def spend(http: httpx.Client, user: str, n: int, rng: random.Random) -> bool | None:
        want = rng.randrange(100, 600)
        body = {"user_id": user, "order_minor": 20_000, "currency": "USD", "points": want}
        held = http.post(
            "/v1/loyalty/checkout/redeem", json=body, headers={"Idempotency-Key": f"{run}-{n}"}
        )
        if held.status_code == 409:
            return None  # a business refusal (points_insufficient): nothing moved
        if held.status_code != 200:
            return False
        done = http.post(f"/v1/loyalty/redemptions/{held.json()['id']}/confirm")
        if done.status_code != 200:
            tally.unknown.add(user)  # the hold stays reserved: the tally cannot say where
            return False
        tally.add(user, available=-want)
        return True

    def client(c: int) -> None:
        rng = random.Random(seed * 1_000 + c)
        mine_earn: list[float] = []
        mine_spend: list[float] = []
        mine = dict.fromkeys(counts, 0)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            barrier.wait()
            n = 0
            while time.perf_counter() < deadline[0]:
                n += 1
                user = f"x{rng.randrange(members)}"
                is_spend = rng.random() < spend_share
                t0 = time.perf_counter()
                try:
                    ok = (
                        spend(http, user, c * 10**9 + n, rng)
                        if is_spend
                        else earn(http, user, c * 10**9 + n, rng)
                    )
                except httpx.HTTPError:
                    tally.unknown.add(user)
                    ok = False
                took = (time.perf_counter() - t0) * 1e3
                if ok is None:
                    mine["refused"] += 1
                elif not ok:
                    mine["failures"] += 1
                elif is_spend:
                    mine["spends"] += 1
                    mine_spend.append(took)
                else:
                    mine["earns"] += 1
                    mine_earn.append(took)
        with lock:
            earn_ms.extend(mine_earn)
            spend_ms.extend(mine_spend)
            for name, value in mine.items():
                counts[name] += value

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()  # every client has its connection pool ready
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ops = counts["earns"] + counts["spends"]
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        **counts,
        "ops_per_s": round(ops / wall, 1),
        "earns_per_s": round(counts["earns"] / wall, 1),
        "spends_per_s": round(counts["spends"] / wall, 1),
        "earn_ms": _pct(earn_ms),
        "spend_ms": _pct(spend_ms),
    }


def _check_ledger(database_url: str, members: int, lots: int, tally: Tally) -> dict[str, Any]:
    """The whole ledger against itself and the clients' tally; `ok` only when nothing is off."""
    from sqlalchemy import text

    from tenure.storage.database import Database

    database = Database(database_url)
    with database.engine.connect() as con:
        sums: dict[str, dict[str, int]] = {}
        for user, bucket, total in con.execute(
            text(
                "SELECT user_id, bucket, SUM(points) FROM loyalty_entries GROUP BY user_id, bucket"
            )
        ):
            sums.setdefault(user, {})[bucket] = int(total)
        # Header deltas must add up to the entries: a transaction is its entries.
        headers = {
            user: (int(a), int(p), int(r))
            for user, a, p, r in con.execute(
                text(
                    "SELECT user_id, SUM(available_delta), SUM(pending_delta), "
                    "SUM(reserved_delta) FROM loyalty_transactions GROUP BY user_id"
                )
            )
        }
        # The balance the member's last transaction recorded: entries are inserted under the
        # member's lock, so the highest entry id belongs to their last transaction.
        last = {
            user: (int(a), int(p), int(r))
            for user, a, p, r in con.execute(
                text(
                    "SELECT t.user_id, t.available_after, t.pending_after, t.reserved_after "
                    "FROM loyalty_transactions t JOIN loyalty_entries e ON e.transaction_id = t.id "
                    "WHERE e.id IN (SELECT MAX(id) FROM loyalty_entries GROUP BY user_id)"
                )
            )
        }
        negative_lots = con.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT lot_id, bucket FROM loyalty_entries "
                "GROUP BY lot_id, bucket HAVING SUM(points) < 0) AS n"
            )
        ).scalar_one()
        negative_after = con.execute(
            text(
                "SELECT COUNT(*) FROM loyalty_transactions WHERE available_after < 0 "
                "OR pending_after < 0 OR reserved_after < 0"
            )
        ).scalar_one()
    database.engine.dispose()
    off: dict[str, list[str]] = {"ledger_vs_headers": [], "ledger_vs_last_balance": [],
                                 "ledger_vs_tally": [], "negative_balance": []}  # fmt: skip
    for user, buckets in sums.items():
        mine = tuple(buckets.get(b, 0) for b in ("available", "pending", "reserved"))
        if headers.get(user) != mine:
            off["ledger_vs_headers"].append(user)
        if last.get(user) != mine:
            off["ledger_vs_last_balance"].append(user)
        if min(mine) < 0:
            off["negative_balance"].append(user)
    for m in range(members):
        user = f"x{m}"
        if user in tally.unknown:
            continue
        expected = (
            lots * SEED_POINTS + tally.available.get(user, 0),
            tally.pending.get(user, 0),
            0,
        )
        found = sums.get(user, {})
        if tuple(found.get(b, 0) for b in ("available", "pending", "reserved")) != expected:
            off["ledger_vs_tally"].append(user)
    bad = sum(len(v) for v in off.values()) + int(negative_lots) + int(negative_after)
    return {
        "ok": bad == 0,
        "members": len(sums),
        "negative_lots": int(negative_lots),
        "negative_after": int(negative_after),
        "untallied": len(tally.unknown),
        **{name: users[:10] for name, users in off.items()},
    }


def _print_checkouts(runs: list[dict[str, Any]]) -> None:
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


def _print_mixed(runs: list[dict[str, Any]]) -> None:
    rows = [
        [
            r["engine"], r["clients"], r["seconds"], r["earns"] + r["spends"], r["ops_per_s"],
            r["earns_per_s"], r["spends_per_s"], r["refused"], r["failures"],
            r["earn_ms"].get("p50", "-"), r["earn_ms"].get("p99", "-"),
            r["spend_ms"].get("p50", "-"), r["spend_ms"].get("p99", "-"),
        ]
        for r in runs
    ]  # fmt: skip
    print(
        table(
            ["engine", "clients", "s", "ops", "ops/s", "earn/s", "spend/s", "refused", "fail",
             "earn p50", "earn p99", "spend p50", "spend p99"],
            rows,
        )
    )  # fmt: skip


def main() -> None:
    """Run the bench and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--lots", type=int, default=20, help="Lots (earn entries) per member.")
    parser.add_argument("--checkouts", type=int, default=400, help="Per run (split over clients).")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument(
        "--workloads", nargs="+", choices=["checkout", "mixed"], default=["checkout", "mixed"]
    )
    parser.add_argument("--duration", type=float, default=30, help="Seconds per mixed run.")
    parser.add_argument("--spend-share", type=float, default=0.5, help="Mixed: share of spends.")
    parser.add_argument("--seed", type=int, default=7, help="Mixed: random seed of the clients.")
    args = parser.parse_args()
    load = warn_if_busy()
    checkouts: list[dict[str, Any]] = []
    mixed: list[dict[str, Any]] = []
    ledgers: list[dict[str, Any]] = []
    for engine in args.engines:
        home = Path(tempfile.mkdtemp(prefix="tenure-bench-loyalty-"))
        pg = _pg_schema() if engine == "postgres" else None
        if engine == "postgres" and pg is None:
            continue
        url = pg[1] if pg else f"sqlite:///{home / 'tenure.db'}"
        try:
            seed_start = time.perf_counter()
            sets = {"checkout": "m", "mixed": "x"}
            prefixes = tuple(sets[w] for w in args.workloads)
            server_key, _ = _seed(url, args.members, args.lots, prefixes)
            seed_s = time.perf_counter() - seed_start
            tally = Tally()
            with _server(home, url if pg else None) as base:
                if "checkout" in args.workloads:
                    _checkouts(base, server_key, args.members, 1, 20)  # warm-up
                    for clients in args.clients:
                        result = _checkouts(
                            base, server_key, args.members, clients, args.checkouts // clients
                        )
                        checkouts.append({"engine": engine, "seed_s": round(seed_s, 1), **result})
                if "mixed" in args.workloads:
                    for clients in args.clients:
                        result = _mixed(
                            base, server_key, args.members, clients, args.duration,
                            args.spend_share, tally, args.seed,
                        )  # fmt: skip
                        mixed.append({"engine": engine, **result})
            if "mixed" in args.workloads:
                ledgers.append(
                    {"engine": engine, **_check_ledger(url, args.members, args.lots, tally)}
                )
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if pg:
                _drop_schema(pg[0])
    if checkouts:
        _print_checkouts(checkouts)
    if mixed:
        _print_mixed(mixed)
    for ledger in ledgers:
        state = "ok" if ledger["ok"] else "MISMATCH"
        print(f"ledger check ({ledger['engine']}): {state} {ledger}")
    path = write_results(
        "loyalty",
        {
            "load_before": load,
            "members": args.members,
            "lots": args.lots,
            "runs": checkouts,
            "mixed": {"duration_s": args.duration, "spend_share": args.spend_share,
                      "runs": mixed, "ledger": ledgers},
        },
    )  # fmt: skip
    print(f"results: {path}")
    if any(not ledger["ok"] for ledger in ledgers):
        sys.exit(1)


if __name__ == "__main__":
    main()
