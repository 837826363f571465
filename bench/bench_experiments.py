"""Experiment speed: `analyse()` over 10M exposure events and their orders, against the same
analysis written by hand in pandas, and `POST /v1/experiments/{key}/assign` latency.

1. analysis: a DuckDB warehouse with N `Experiment Viewed` events (default 10,000,000) of one
   three-arm experiment: U units (default 5,000,000) seen 1 + Poisson(1) times, 2 % of them
   shown a second variant, and their orders (about 6M, 20 % by users never exposed) from 14
   days before the experiment to 14 days after it. `analyse()` runs with metrics conversion,
   revenue, orders and aov, CUPED on (the default): a warm-up, then the median of 3. The
   baseline is the same analysis by hand: events and orders read from the same DuckDB file
   into pandas, the JSON properties parsed with `json.loads`, first exposure per unit,
   multi-variant units dropped, the post and pre windows joined, per-variant sums, CUPED and
   Welch. Both must give the same units and per-variant means (checked).
2. assign: p50/p99 of `POST /v1/experiments/{key}/assign` through a real `tenure serve` on
   SQLite, with the exposure recorded (the default) and without, plus `GET /healthz` (the HTTP
   floor) and the same assignment in process.

The warehouse is built once and kept in `bench/results/experiments-<events>-<units>/` (git-
ignored; `--rebuild` makes it again): rows are generated with numpy and pyarrow and inserted
in chunks straight into the tables `Warehouse.init()` creates; the rollups are not built
(`analyse()` does not read them).

    .venv/bin/python bench/bench_experiments.py      # about 2 min, plus 30 s the first time (data)
    .venv/bin/python bench/bench_experiments.py --events 1000000 --units 500000 --calls 300
    .venv/bin/python bench/bench_experiments.py --only assign
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_checkout import Server, percentiles
from benchlib import RESULTS, table, warn_if_busy, write_results

from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.experiments.analysis import analyse
from tenure.experiments.schemas import ExperimentResults
from tenure.experiments.service.assign import assign_units
from tenure.experiments.spec import EXPOSURE_EVENT, Experiment, parse
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

KEY = "checkout-redesign"
START = datetime(2026, 3, 2, tzinfo=UTC)
RUN = timedelta(days=28)  # exposures happen in [START, START + RUN)
WINDOW = timedelta(days=14)  # the metrics' window and CUPED's pre-period
VARIANTS = (("control", 0.4), ("one-step", 0.3), ("express", 0.3))
ORDER_LIFT = {"control": 1.0, "one-step": 1.03, "express": 1.0}  # a planted +3 % order rate
METRICS = ("conversion", "revenue", "orders", "aov")
CHUNK = 1_000_000
DOC: dict[str, Any] = {
    "key": KEY, "name": "Checkout redesign",
    "variants": [{"key": k, "weight": w} for k, w in VARIANTS],
    "metrics": list(METRICS),
}  # fmt: skip


# ---- the warehouse --------------------------------------------------------------------------


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """`prefix` + the zero-padded number, built in Arrow (no Python string per row)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), 9, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _micros(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))


def _insert(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    for start in range(0, data.num_rows, CHUNK):
        con.register("chunk", data.slice(start, CHUNK))
        con.execute(f'INSERT INTO "{name}" SELECT * FROM chunk')
        con.unregister("chunk")


def build(home: Path, events: int, units: int, seed: int) -> dict[str, Any]:
    """Write the exposures and orders; returns what was written."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    settings = Settings(home=home)
    Warehouse(settings).init()
    # Exposures: every unit once, the rest repeats of random units.
    keys = np.array([k for k, _ in VARIANTS])
    weights = np.array([w for _, w in VARIANTS])
    variant = rng.choice(len(keys), size=units, p=weights)
    first_us = rng.integers(0, RUN // timedelta(microseconds=1), units)
    who = np.concatenate([np.arange(units), rng.integers(0, units, events - units)])
    shown = variant[who].copy()
    repeat = np.arange(events) >= units
    switched = repeat & (rng.random(events) < 0.02)  # about 2 % of units see two variants
    shown[switched] = (shown[switched] + 1) % len(keys)
    gap = np.where(repeat, rng.exponential(2 * 86_400e6, events), 0).astype(np.int64)
    at = np.datetime64(START.replace(tzinfo=None), "us") + (first_us[who] + gap).astype(
        "timedelta64[us]"
    )
    props = pc.binary_join_element_wise(
        pa.scalar(f'{{"experiment_id": "{KEY}", "variation_id": "'),
        pa.array(keys[shown]),
        pa.scalar('", "source": "sdk"}'),
        "",
    )
    ts = _micros(at)
    exposure = pa.table({
        "event_id": _ids("e", np.arange(events)), "type": pa.repeat("track", events),
        "user_id": _ids("u", who), "anonymous_id": pa.nulls(events, pa.string()),
        "name": pa.repeat(EXPOSURE_EVENT, events), "ts": ts, "properties": props,
        "received_at": ts,
    })  # fmt: skip
    # Orders: a Gamma(0.3) purchase habit per person (half a purchase per 28 days on average),
    # over [START - WINDOW, START + RUN + WINDOW); 20 % of the buyers were never exposed.
    people = units + units // 4
    habit = rng.gamma(0.3, 0.5 / 0.3, people) * ((RUN + 2 * WINDOW) / RUN)
    lift = np.ones(people)
    lift[:units] = np.array([ORDER_LIFT[k] for k in keys])[variant]
    count = rng.poisson(habit * lift)
    buyer = np.repeat(np.arange(people), count)
    n = buyer.size
    span = (RUN + 2 * WINDOW) // timedelta(microseconds=1)
    order_at = np.datetime64((START - WINDOW).replace(tzinfo=None), "us") + rng.integers(
        0, span, n
    ).astype("timedelta64[us]")
    refunded = rng.random(n) < 0.04
    amount = np.round(rng.lognormal(3.6, 0.7, n), 2)
    orders = pa.table({
        "order_id": _ids("o", np.arange(n)), "user_id": _ids("u", buyer), "ts": _micros(order_at),
        "status": pa.array(np.where(refunded, "refunded", "paid")),
        "amount": pa.array(np.where(refunded, -amount, amount)).cast(pa.decimal128(18, 4)),
        "currency": pa.repeat("USD", n), "channel": pa.repeat("web", n),
        "properties": pa.nulls(n, pa.string()),
    })  # fmt: skip
    generated = time.perf_counter() - started
    con = duckdb.connect(str(Warehouse(settings).path))
    try:
        _insert(con, "events", exposure)
        _insert(con, "orders", orders)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"events": events, "units": units, "orders": n, "generate_s": generated,
            "total_s": time.perf_counter() - started}  # fmt: skip


def warehouse_home(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The cached warehouse for these sizes, built when missing."""
    home = RESULTS / f"experiments-{args.events}-{args.units}"
    marker = home / "built.json"
    if args.rebuild or not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
        print(f"building {home} ...", flush=True)
        built = build(home, args.events, args.units, args.seed)
        marker.write_text(json.dumps(built))
        print(f"built in {built['total_s']:.0f} s: {built}", flush=True)
    return home, json.loads(marker.read_text())


# ---- tenure ---------------------------------------------------------------------------------


def run_tenure(home: Path, repeat: int) -> tuple[list[float], ExperimentResults]:
    """A warm-up, then `repeat` timed runs of `analyse()`."""
    warehouse = Warehouse(Settings(home=home))
    experiment = parse(DOC)
    found = analyse(warehouse, experiment, "running", START, START + RUN)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        found = analyse(warehouse, experiment, "running", START, START + RUN)
        times.append(time.perf_counter() - started)
    return times, found


# ---- pandas by hand -------------------------------------------------------------------------


def _welch(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.ttest_ind(y, x, equal_var=False).pvalue)


def _ratio_p(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """AOV (Σ revenue / Σ orders) of b against a: delta-method variance, z-test."""

    def mean_var(frame: pd.DataFrame) -> tuple[float, float]:
        x, d = frame["revenue"], frame["orders"]
        mx, md = x.mean(), d.mean()
        cov = np.cov(x, d)
        var = cov[0, 0] / md**2 - 2 * cov[0, 1] * mx / md**3 + mx**2 * cov[1, 1] / md**4
        return mx / md, var / len(frame)  # fmt: skip

    (ra, va), (rb, vb) = mean_var(a), mean_var(b)
    return float(2 * stats.norm.sf(abs(rb - ra) / math.sqrt(va + vb)))


def by_hand(path: Path, experiment: Experiment) -> tuple[dict[str, Any], dict[str, float]]:
    """The analysis as a pandas user writes it; returns the figures and the phase timings."""
    phases: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        events = (
            con.execute(
                "SELECT user_id, anonymous_id, ts, properties FROM events "
                "WHERE name = ? AND type IN ('track', 'page', 'screen')",
                [EXPOSURE_EVENT],
            )
            .to_arrow_table()
            .to_pandas()
        )
        orders = (
            con.execute(
                "SELECT user_id, ts, status, amount FROM orders "
                "WHERE user_id IS NOT NULL AND status IN ('paid', 'refunded') AND currency = 'USD'"
            )
            .to_arrow_table()
            .to_pandas()
        )
    phases["read"] = time.perf_counter() - started

    mark = time.perf_counter()
    parsed = [json.loads(p) for p in events["properties"]]
    events["experiment_id"] = [p.get("experiment_id") for p in parsed]
    events["variant"] = [p.get("variation_id") for p in parsed]
    del parsed
    phases["parse JSON"] = time.perf_counter() - mark

    mark = time.perf_counter()
    since, until = pd.Timestamp(START), pd.Timestamp(START + RUN)
    keep = (events["experiment_id"] == experiment.key) & events["variant"].notna()
    keep &= (events["ts"] >= since) & (events["ts"] < until)
    events = events[keep]
    events = events.assign(unit=events["user_id"].fillna(events["anonymous_id"]))
    units = events.groupby("unit").agg(
        variant=("variant", "min"), first=("ts", "min"), variants=("variant", "nunique")
    )
    del events
    multiple = int((units["variants"] > 1).sum())
    keys = [v.key for v in experiment.variants]
    units = units[(units["variants"] == 1) & units["variant"].isin(keys)].drop(columns="variants")

    orders["paid"] = (orders["status"] == "paid").astype("int64")
    orders["revenue"] = np.where(orders["paid"] == 1, orders["amount"].astype("float64"), 0.0)
    joined = orders[["user_id", "ts", "paid", "revenue"]].merge(
        units[["first"]], left_on="user_id", right_index=True
    )
    since_exposure = joined["ts"] - joined["first"]
    window = pd.Timedelta(WINDOW)
    post_rows = joined[(since_exposure >= pd.Timedelta(0)) & (since_exposure < window)]
    pre_rows = joined[(since_exposure >= -window) & (since_exposure < pd.Timedelta(0))]
    post = post_rows.groupby("user_id")[["paid", "revenue"]].sum()
    pre = pre_rows.groupby("user_id")[["paid", "revenue"]].sum()
    per_unit = units.join(post).join(pre.add_suffix("_pre")).fillna(0.0)
    per_unit = per_unit.rename(columns={"paid": "orders", "paid_pre": "orders_pre"})
    per_unit["conversion"] = (per_unit["orders"] > 0).astype("float64")
    per_unit["conversion_pre"] = (per_unit["orders_pre"] > 0).astype("float64")
    groups = dict(tuple(per_unit.groupby("variant")))

    figures: dict[str, Any] = {"units": {k: len(groups.get(k, [])) for k in keys},
                               "multiple_exposures": multiple, "metrics": {}}  # fmt: skip
    control = groups[keys[0]]
    for metric in METRICS:
        rows = {}
        for key in keys:
            mine = groups[key]
            if metric == "aov":
                mean = mine["revenue"].sum() / mine["orders"].sum()
                row: dict[str, float | None] = {"mean": mean, "lift": None, "p_value": None}
                if key != keys[0]:
                    base = control["revenue"].sum() / control["orders"].sum()
                    row.update(lift=mean / base - 1, p_value=_ratio_p(control, mine))
            else:
                row = {"mean": mine[metric].mean(), "lift": None, "p_value": None}
                if key != keys[0]:
                    # CUPED: θ pooled over the pair, then Welch on the adjusted values.
                    both: pd.DataFrame = pd.concat([control, mine])
                    theta = both[metric].cov(both[f"{metric}_pre"]) / both[f"{metric}_pre"].var()
                    a = control[metric] - theta * control[f"{metric}_pre"]
                    b = mine[metric] - theta * mine[f"{metric}_pre"]
                    row.update(lift=(b.mean() - a.mean()) / control[metric].mean(),
                               p_value=_welch(a.to_numpy(), b.to_numpy()))  # fmt: skip
            rows[key] = row
        figures["metrics"][metric] = rows
    phases["windows, sums, tests"] = time.perf_counter() - mark
    phases["total"] = time.perf_counter() - started
    return figures, phases


def check(found: ExperimentResults, figures: dict[str, Any]) -> None:
    """Tenure and pandas agree on the units and every per-variant mean and lift."""
    assert found.units == figures["units"], (found.units, figures["units"])
    assert found.multiple_exposures == figures["multiple_exposures"]
    for metric in found.metrics:
        for row in metric.variants:
            theirs = figures["metrics"][metric.key][row.variant]
            assert math.isclose(row.mean, theirs["mean"], rel_tol=1e-9), (metric.key, row)
            if theirs["lift"] is not None:
                assert row.lift is not None
                # 1e-4: for a 0/1 metric gbstats (and Tenure) take Var(pre) = p(1 - p), pandas'
                # .var() divides by n - 1, so CUPED's θ differs by a factor n / (n - 1).
                assert math.isclose(row.lift, theirs["lift"], rel_tol=1e-4, abs_tol=1e-9), (
                    metric.key,
                    row.variant,
                    row.lift,
                    theirs["lift"],
                )


def bench_analysis(args: argparse.Namespace) -> dict[str, Any]:
    home, built = warehouse_home(args)
    times, found = run_tenure(home, args.repeat)
    figures, phases = by_hand(Warehouse(Settings(home=home)).path, parse(DOC))
    check(found, figures)
    pandas_runs = [phases]
    for _ in range(args.pandas_repeat - 1):
        pandas_runs.append(by_hand(Warehouse(Settings(home=home)).path, parse(DOC))[1])
    pandas_phases = {k: statistics.median(r[k] for r in pandas_runs) for k in phases}
    tenure_s = statistics.median(times)
    per_variant = [
        [m.key, v.variant, v.units, v.mean, v.lift, v.p_value,
         figures["metrics"][m.key][v.variant]["p_value"]]
        for m in found.metrics for v in m.variants
    ]  # fmt: skip
    return {
        "built": built, "tenure_s": times, "tenure_median_s": tenure_s,
        "pandas_phases_s": pandas_phases, "pandas_runs": pandas_runs,
        "ratio": pandas_phases["total"] / tenure_s, "units": found.units,
        "multiple_exposures": found.multiple_exposures, "verdict": found.verdict_code,
        "per_variant": per_variant,
    }  # fmt: skip


# ---- assignment latency ---------------------------------------------------------------------


def bench_assign(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="tenure-bench-assign-"))
    env = {**os.environ, "TENURE_HOME": str(home)}
    env.pop("TENURE_WAREHOUSE", None)
    database = Database(Settings(home=home).sqlalchemy_url)
    database.upgrade()
    Warehouse(Settings(home=home)).init()
    with database.session() as session:
        admin = {"authorization": f"Bearer {create_key(session, 'bench-admin', ['admin']).secret}"}
        shop = {"authorization": f"Bearer {create_key(session, 'bench-shop', ['server']).secret}"}
    server = Server(home, env)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.post("/v1/experiments", json=DOC, headers=admin).raise_for_status()
            client.post(f"/v1/experiments/{KEY}/start", headers=admin).raise_for_status()
            path = f"/v1/experiments/{KEY}/assign"
            for record in (True, False):
                label = "record" if record else "no_record"
                for i in range(args.warmup):
                    body: dict[str, Any] = {"user_id": f"warm-{label}-{i}", "record": record}
                    client.post(path, json=body, headers=shop).raise_for_status()
                samples = []
                for i in range(args.calls):
                    body = {"user_id": f"{label}-{i}", "record": record,
                            "attributes": {"country": "DE"}}  # fmt: skip
                    started = time.perf_counter()
                    response = client.post(path, json=body, headers=shop)
                    samples.append(time.perf_counter() - started)
                    if response.status_code != 200 or not response.json()["in_experiment"]:
                        raise SystemExit(f"assign answered {response.status_code}: {response.text}")
                out[f"http_{label}"] = percentiles(samples)
            health = []
            for _ in range(args.calls):
                started = time.perf_counter()
                client.get("/healthz").raise_for_status()
                health.append(time.perf_counter() - started)
            out["healthz"] = percentiles(health)
    finally:
        server.stop()
    for record in (True, False):
        label = "record" if record else "no_record"
        samples = []
        for i in range(args.calls):
            user = f"in-process-{label}-{i}"
            started = time.perf_counter()
            database.write(lambda s, u=user, r=record: assign_units(
                s, [KEY], u, None, {}, utc_now(), r))  # fmt: skip
            samples.append(time.perf_counter() - started)
        out[f"in_process_{label}"] = percentiles(samples)
    shutil.rmtree(home, ignore_errors=True)
    return out


def code_fingerprint() -> dict[str, str]:
    """A short hash of the analysis code measured (the tree changes between runs)."""
    root = Path(__file__).resolve().parent.parent / "src" / "tenure" / "experiments"
    return {
        name: hashlib.sha256((root / name).read_bytes()).hexdigest()[:12]
        for name in ("analysis.py", "metrics.py")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--units", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed analyse() runs (median)")
    parser.add_argument("--pandas-repeat", type=int, default=1, help="timed pandas runs (median)")
    parser.add_argument("--rebuild", action="store_true", help="make the warehouse again")
    parser.add_argument("--calls", type=int, default=2000, help="timed assign calls per mode")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--only", choices=("analysis", "assign"))
    args = parser.parse_args()
    load = warn_if_busy()
    results: dict[str, Any] = {"load_average": load, "args": vars(args), "code": code_fingerprint()}
    if args.only in (None, "analysis"):
        a = results["analysis"] = bench_analysis(args)
        built = a["built"]
        print(f"\n{built['events']:,} exposure events, {built['units']:,} units, "
              f"{built['orders']:,} orders; {sum(a['units'].values()):,} units analysed, "
              f"{a['multiple_exposures']:,} in two variants")  # fmt: skip
        rows = [["tenure analyse() (DuckDB)", a["tenure_median_s"], "1.00x"]]
        rows += [[f"pandas: {k}", v, f"{v / a['tenure_median_s']:.2f}x"]
                 for k, v in a["pandas_phases_s"].items()]  # fmt: skip
        print(table(["analysis", "seconds", "vs tenure"], rows))
        print(table(["metric", "variant", "units", "mean", "lift", "p (tenure)", "p (pandas)"],
                    a["per_variant"]))  # fmt: skip
    if args.only in (None, "assign"):
        s = results["assign"] = bench_assign(args)
        rows = [
            [name, s[k]["n"], s[k]["p50_ms"], s[k]["p90_ms"], s[k]["p99_ms"], s[k]["max_ms"]]
            for name, k in (
                ("assign, exposure recorded (HTTP)", "http_record"),
                ("assign, record=false (HTTP)", "http_no_record"),
                ("GET /healthz (HTTP floor)", "healthz"),
                ("assign, recorded (in process)", "in_process_record"),
                ("assign, record=false (in process)", "in_process_no_record"),
            )
        ]
        print(table(["call", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    print(write_results("experiments", results))


if __name__ == "__main__":
    main()
