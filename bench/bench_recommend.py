"""Recommendations on UCI Online Retail: offline quality, training time and serving latency.

Usage: .venv/bin/python bench/bench_recommend.py [--requests 2000] [--skip-eval]
       .venv/bin/python bench/bench_recommend.py --serve-only HOME   (serving on a trained home)

1. Quality: `tenure recommend evaluate` (train before 2011-11-09, score the next 30 days),
   every model against the two popularity baselines; the goal is recall@10 ≥ 1.5× popularity.
2. Training: `tenure recommend train` on the whole history, wall time and peak RSS of the
   child process (target ≤ 10 s).
3. Serving: `tenure serve` on SQLite with a server key; `--requests` calls of
   GET /v1/recommendations/users/{id} and /items/{sku}/together over one keep-alive connection,
   for random known customers, unknown ones and known SKUs; p50/p99 of the client's wall time
   (the request through uvicorn, key check included; target p99 ≤ 10 ms). The peer is what a
   shop would otherwise do per request: implicit's ALS `recommend()` for the user, computed on
   the fly in-process, timed in the same run against our answer in-process (`service.for_user`:
   the precomputed list, serving rules and reasons); the ratio is peer p99 / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import data_dir, run_child, table, tenure_exe, warn_if_busy, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOT_PRODUCTS = "POST,DOT,M,C2,BANK CHARGES,AMAZONFEE,PADS,D,CRUK,S,B,gift_*"


def env_for(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TENURE_HOME": str(home),
        "TENURE_TIMEZONE": "Europe/London",
        "TENURE_RECOMMEND_EXCLUDE_SKUS": NOT_PRODUCTS,
    }


def load(home: Path) -> None:
    files = sorted(str(p) for p in (data_dir() / "online_retail").glob("*.csv"))
    subprocess.run(
        [tenure_exe(), "import", "orders", *files, "--preset", "online-retail"],
        env=env_for(home),
        check=True,
        capture_output=True,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def serving(home: Path, requests: int) -> dict[str, Any]:
    from tests.serving import keyed_server

    from tenure.recommend.serve import current

    rec = current(home)
    users = [bytes(u).decode() for u in rec.a["users"][:: max(1, rec.a["users"].size // 500)]]
    skus = [rec.sku(i) for i in range(0, len(rec.names), max(1, len(rec.names) // 500))]
    rng = random.Random(7)
    url_db = f"sqlite:///{home / 'tenure.db'}"
    out: dict[str, Any] = {}
    with keyed_server(home, url_db) as server, httpx.Client(timeout=30) as client:
        paths = {
            "user (known)": lambda: f"/v1/recommendations/users/{rng.choice(users)}?n=10",
            "user (unknown)": lambda: f"/v1/recommendations/users/new-{rng.random()}?n=10",
            "user + context": lambda: (
                f"/v1/recommendations/users/{rng.choice(users)}?n=10&context={rng.choice(skus)}"
            ),
            "item together": lambda: f"/v1/recommendations/items/{rng.choice(skus)}/together",
        }
        for name, make in paths.items():
            for _ in range(50):  # warm-up
                client.get(server["url"] + make(), headers=server["server"])
            wall = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(server["url"] + make(), headers=server["server"])
                wall.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            out[name] = {
                "p50_ms": statistics.median(wall),
                "p99_ms": percentile(wall, 0.99),
                "max_ms": max(wall),
            }
    return out


def in_process(home: Path, requests: int) -> dict[str, Any]:
    """Our answer without HTTP: `service.for_user` (lists, rules, reasons) for random users."""
    from tenure.config import Settings
    from tenure.recommend import service
    from tenure.recommend.serve import current

    settings = Settings(home=home, timezone="Europe/London", recommend_exclude_skus=NOT_PRODUCTS)
    rec = current(home)
    users = [bytes(u).decode() for u in rec.a["users"]]
    rng = random.Random(7)
    times = []
    for _ in range(requests):
        user = rng.choice(users)
        started = time.perf_counter()
        service.for_user(settings, user, 10)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99)}


def peer(home: Path, requests: int) -> dict[str, Any]:
    """implicit's ALS recommend() per request, in-process, on the same data."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from tenure.config import Settings
    from tenure.recommend.data import encode, exclusion, read_raw
    from tenure.recommend.models.factors import confidence
    from tenure.storage.warehouse import Warehouse

    settings = Settings(home=home, timezone="Europe/London")
    with Warehouse(settings).reader() as con:
        x = encode(read_raw(con), exclusion(NOT_PRODUCTS))
    user_items = confidence(x.signal, 2.0).tocsr()
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=64, regularization=0.1, random_state=7)
        model.fit(user_items, show_progress=False)
    rng = random.Random(7)
    times = []
    for _ in range(requests):
        user = rng.randrange(x.users.size)
        started = time.perf_counter()
        model.recommend(user, user_items[user], N=10, filter_already_liked_items=True)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument(
        "--serve-only",
        type=Path,
        help="Only time serving, on a home trained already (e.g. bench_recommend_scale's).",
    )
    args = parser.parse_args()
    warn_if_busy()
    if args.serve_only is not None:
        served = serving(args.serve_only, args.requests)
        rows = [[k, v["p50_ms"], v["p99_ms"], v["max_ms"]] for k, v in served.items()]
        print(table(["request", "p50 ms", "p99 ms", "max ms"], rows))
        print(
            "written:",
            write_results("recommend_serving", {"home": str(args.serve_only), "serving": served}),
        )
        return
    home = Path(tempfile.mkdtemp(prefix="tenure-bench-recommend-"))
    load(home)
    results: dict[str, Any] = {}
    if not args.skip_eval:
        run = run_child([tenure_exe(), "recommend", "evaluate", "--format", "json"], env_for(home))
        assert run.returncode == 0, run.stderr
        results["evaluation"] = run.output
        rows = [
            [
                m["model"],
                m["recall"],
                m["ndcg"],
                m["map"],
                m["coverage"],
                m["novelty"],
                m["seconds"],
            ]
            for m in run.output["models"]
        ]
        print(table(["model", "recall@10", "ndcg@10", "map@10", "coverage", "novelty", "s"], rows))
        cold = run.output["cold_start"]
        print(f"cold start ({cold['users']} new customers):")
        print(
            table(
                ["list", "recall@10", "ndcg@10", "map@10"],
                [[m["model"], m["recall"], m["ndcg"], m["map"]] for m in cold["models"]],
            )
        )
    train = run_child([tenure_exe(), "recommend", "train", "--format", "json"], env_for(home))
    assert train.returncode == 0, train.stderr
    results["train"] = {
        "wall_s": train.wall_s,
        "max_rss_mb": train.max_rss_mb,
        "stages_s": train.output["seconds"],
    }
    print(
        f"train: {train.wall_s:.1f} s wall (process start included), "
        f"peak RSS {train.max_rss_mb:.0f} MB, stages {json.dumps(train.output['seconds'])}"
    )
    results["serving"] = serving(home, args.requests)
    results["in_process"] = in_process(home, args.requests)
    results["peer"] = peer(home, args.requests)
    results["peer_p99_over_ours"] = results["peer"]["p99_ms"] / results["in_process"]["p99_ms"]
    rows = [[k, v["p50_ms"], v["p99_ms"], v["max_ms"]] for k, v in results["serving"].items()]
    for name, key in (
        ("in-process service.for_user", "in_process"),
        ("peer: implicit recommend()", "peer"),
    ):
        rows.append([name, results[key]["p50_ms"], results[key]["p99_ms"], "-"])
    print(f"peer p99 / ours in-process: {results['peer_p99_over_ours']:.1f}×")
    print(table(["request", "p50 ms", "p99 ms", "max ms"], rows))
    print("written:", write_results("recommend", results))


if __name__ == "__main__":
    main()
