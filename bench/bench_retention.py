"""Retention (weekly cohorts 0-12 + day-1/7/30) and a 4-step ordered funnel: Tenure vs peers.

Usage: .venv/bin/python bench/bench_retention.py [--sizes 10000000,50000000] [--repeat 3]

Each contender runs in its own process on the same events.parquet and returns the same numbers
(checked): Tenure (RetentionRunner on the activity rollup, rollup build timed separately, then
the ordered FunnelRunner), idiomatic pandas, Polars lazy, and hand-written DuckDB SQL on the
Parquet file. The funnel (funnel_peers.py: Product Viewed > Product Added > Checkout Started >
Order Completed, 7-day window from step 1) is timed apart from retention; a peer computes each
from the file on its own (reading it and merging identities), Tenure from its warehouse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import run_child, table, warn_if_busy, write_results
from funnel_peers import (
    funnel_duckdb,
    funnel_pandas,
    funnel_polars,
    funnel_tenure,
    same_times,
    tenure_runner,
)

PERIODS, DAYS = 12, (1, 7, 30)
EVENTS_PER_USER = 30.6  # simulator average, from bench/simulate_sizes.md
CACHE = Path(os.environ.get("TENURE_BENCH_DIR", Path(tempfile.gettempdir()) / "tenure-bench"))


def canonical(matrix: dict[str, list[int]], day_n: dict[int, list[int]]) -> str:
    """A digest of the answer, so contenders can be compared."""
    text = json.dumps(
        {"m": dict(sorted(matrix.items())), "d": {str(k): v for k, v in sorted(day_n.items())}}
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _with_funnel(
    t0: float, matrix: dict[str, list[int]], day_n: dict[int, list[int]], funnel: Any, source: Any
) -> dict[str, Any]:
    """A contender's output: retention (timed since t0), then the funnel on `source`, timed."""
    retention_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    answer = funnel(source)
    funnel_s = time.perf_counter() - t1
    return {
        "seconds": retention_s + funnel_s,
        "retention_s": retention_s,
        "funnel_s": funnel_s,
        "digest": canonical(matrix, day_n),
        "cohorts": len(matrix),
        **answer,
    }


def _week(d: date) -> date:
    return d - timedelta(days=d.weekday())


def contender_pandas(path: Path) -> dict[str, Any]:
    """Idiomatic pandas."""
    import pandas as pd

    t0 = time.perf_counter()
    ev = pd.read_parquet(path, columns=["user_id", "anonymous_id", "ts"])
    # Identity merge: anonymous browsing belongs to the user that id was later linked to.
    both = ev[ev.user_id.notna() & ev.anonymous_id.notna()].sort_values("ts")
    link = both.groupby("anonymous_id").user_id.last()
    ev["user_id"] = ev.user_id.fillna(ev.anonymous_id.map(link))
    ev = ev[ev.user_id.notna()]
    ev["day"] = ev.ts.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    act = ev[["user_id", "day"]].drop_duplicates()
    end = act.day.max()
    first = act.groupby("user_id").day.min().rename("first")
    act = act.join(first, on="user_id")
    act["week"] = act.day - pd.to_timedelta(act.day.dt.weekday, unit="D")
    act["cohort"] = act["first"] - pd.to_timedelta(act["first"].dt.weekday, unit="D")
    act["offset"] = (act.week - act.cohort).dt.days // 7
    counts = act[act.offset <= PERIODS].groupby(["cohort", "offset"]).user_id.nunique()
    end_week = end - pd.Timedelta(days=end.weekday())
    matrix: dict[str, list[int]] = {}
    for cohort in sorted(act.cohort.unique()):
        observed = min(PERIODS, (end_week - cohort).days // 7)
        matrix[str(pd.Timestamp(cohort).date())] = [
            int(counts.get((cohort, p), 0)) for p in range(observed + 1)
        ]
    act["d"] = (act.day - act["first"]).dt.days
    age = (end - first).dt.days
    day_n = {}
    for n in DAYS:
        eligible = age[age >= n].index
        sub = act[act.user_id.isin(eligible)]
        g = sub.groupby("user_id").d
        day_n[n] = [
            len(eligible),
            int(g.apply(lambda s, n=n: (s == n).any()).sum()),
            int((g.max() >= n).sum()),
            int(sub[(sub.d >= 1) & (sub.d <= n)].user_id.nunique()),
        ]
    return _with_funnel(t0, matrix, day_n, funnel_pandas, path)


def contender_polars(path: Path) -> dict[str, Any]:
    """Polars lazy."""
    import polars as pl

    t0 = time.perf_counter()
    ev = pl.scan_parquet(path).select("user_id", "anonymous_id", "ts")
    link = (
        ev.filter(pl.col("user_id").is_not_null() & pl.col("anonymous_id").is_not_null())
        .group_by("anonymous_id")
        .agg(pl.col("user_id").sort_by("ts").last().alias("linked"))
    )
    act = (
        ev.join(link, on="anonymous_id", how="left")
        .with_columns(pl.coalesce("user_id", "linked").alias("user_id"))
        .filter(pl.col("user_id").is_not_null())
        .select("user_id", pl.col("ts").dt.convert_time_zone("UTC").dt.date().alias("day"))
        .unique()
    )
    first = act.group_by("user_id").agg(pl.col("day").min().alias("first"))
    j = (
        act.join(first, on="user_id")
        .with_columns(
            cohort=pl.col("first").dt.truncate("1w"),
            week=pl.col("day").dt.truncate("1w"),
            d=(pl.col("day") - pl.col("first")).dt.total_days(),
        )
        .with_columns(offset=(pl.col("week") - pl.col("cohort")).dt.total_days() // 7)
        .collect()
    )
    end = j["day"].max()
    counts = (
        j.filter(pl.col("offset") <= PERIODS)
        .group_by("cohort", "offset")
        .agg(pl.col("user_id").n_unique().alias("n"))
    )
    lookup = {(r[0], r[1]): r[2] for r in counts.iter_rows()}
    end_week = _week(end)
    matrix = {}
    for cohort in sorted(counts["cohort"].unique().to_list()):
        observed = min(PERIODS, (end_week - cohort).days // 7)
        matrix[str(cohort)] = [int(lookup.get((cohort, p), 0)) for p in range(observed + 1)]
    per_user = (
        j.group_by("user_id")
        .agg(
            first=pl.col("first").first(),
            dmax=pl.col("d").max(),
            **{f"on{n}": (pl.col("d") == n).any() for n in DAYS},
            **{f"in{n}": ((pl.col("d") >= 1) & (pl.col("d") <= n)).any() for n in DAYS},
        )
        .with_columns(age=(pl.lit(end) - pl.col("first")).dt.total_days())
    )
    day_n = {}
    for n in DAYS:
        e = per_user.filter(pl.col("age") >= n)
        day_n[n] = [
            e.height,
            int(e[f"on{n}"].sum()),
            int((e["dmax"] >= n).sum()),
            int(e[f"in{n}"].sum()),
        ]
    return _with_funnel(t0, matrix, day_n, funnel_polars, path)


def contender_duckdb(path: Path) -> dict[str, Any]:
    """Hand-written DuckDB SQL straight on the Parquet file."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(f"""CREATE TEMP TABLE act AS
                    WITH ev AS (SELECT user_id, anonymous_id, ts FROM read_parquet('{path}')),
                    link AS (SELECT anonymous_id, arg_max(user_id, ts) AS linked FROM ev
                             WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY 1)
                    SELECT DISTINCT coalesce(ev.user_id, link.linked) AS user_id,
                           CAST(timezone('UTC', ev.ts) AS DATE) AS day
                    FROM ev LEFT JOIN link USING (anonymous_id)
                    WHERE coalesce(ev.user_id, link.linked) IS NOT NULL""")
    con.execute("""CREATE TEMP TABLE f AS SELECT user_id, min(day) AS first FROM act GROUP BY 1""")
    end = con.execute("SELECT max(day) FROM act").fetchone()[0]  # type: ignore[index]
    rows = con.execute(f"""SELECT CAST(date_trunc('week', f.first) AS DATE) AS c,
                                 datediff('day', date_trunc('week', f.first), date_trunc('week', a.day)) // 7 AS o,
                                 count(DISTINCT a.user_id)
                          FROM act a JOIN f USING (user_id) GROUP BY 1, 2 HAVING o <= {PERIODS}""").fetchall()
    lookup = {(r[0], r[1]): r[2] for r in rows}
    end_week = _week(end)
    matrix = {}
    for cohort in sorted({r[0] for r in rows}):
        observed = min(PERIODS, (end_week - cohort).days // 7)
        matrix[str(cohort)] = [int(lookup.get((cohort, p), 0)) for p in range(observed + 1)]
    day_n = {}
    for n in DAYS:
        r = con.execute(f"""WITH u AS (SELECT f.user_id, bool_or(a.day - f.first = {n}) AS on_,
                                  max(a.day - f.first) AS dmax,
                                  bool_or(a.day - f.first BETWEEN 1 AND {n}) AS within
                              FROM f JOIN act a USING (user_id) WHERE DATE '{end}' - f.first >= {n} GROUP BY 1)
                           SELECT count(*), count(*) FILTER (on_), count(*) FILTER (dmax >= {n}), count(*) FILTER (within) FROM u""").fetchone()
        day_n[n] = [int(x) for x in r]  # type: ignore[union-attr]
    con.close()
    return _with_funnel(t0, matrix, day_n, funnel_duckdb, path)


def contender_tenure(home: Path) -> dict[str, Any]:
    """Tenure's RetentionRunner on the stored rollup, then its FunnelRunner (import done before)."""
    from zoneinfo import ZoneInfo

    from tenure.analytics.activity import Activity
    from tenure.analytics.retention import RetentionQuery, RetentionRunner
    from tenure.config import Settings
    from tenure.storage.warehouse import Warehouse

    funnel = tenure_runner()
    t0 = time.perf_counter()
    query = RetentionQuery(
        period="week",
        periods=PERIODS,
        days=DAYS,
        start=Activity(kind="any_event"),
        returning=Activity(kind="any_event"),
    )
    with Warehouse(Settings(home=home)).reader() as con:
        result = RetentionRunner(query, ZoneInfo("UTC"))(con)
        matrix = {str(c.cohort): c.retained for c in result.cohorts}
        day_n = {d.day: [d.eligible, d.on_day, d.on_or_after, d.within] for d in result.day_n}
        return _with_funnel(t0, matrix, day_n, partial(funnel_tenure, funnel), con)


def build_tenure(events: Path, home: Path) -> dict[str, Any]:
    """Import the events into a fresh warehouse; report import and rollup build separately."""
    from tenure.config import Settings
    from tenure.ingest.files.importer import import_files
    from tenure.storage.rollups import RollupMaintainer
    from tenure.storage.warehouse import Warehouse

    settings = Settings(home=home)
    warehouse = Warehouse(settings)
    warehouse.init()
    t0 = time.perf_counter()
    import_files("events", [str(events)], settings=settings, warehouse=warehouse)
    imported = time.perf_counter() - t0
    with warehouse.writer() as writer:
        rebuild = RollupMaintainer(writer.con, "UTC").rebuild()  # type: ignore[attr-defined]
    return {"seconds": imported, "import_with_rollup_s": imported, "rollup_rebuild_s": rebuild}


def simulate(size: int) -> Path:
    """events.parquet of about `size` rows, cached between runs."""
    from tenure.simulate import SimulationConfig, simulate_shop

    out = CACHE / f"sim-{size}"
    path = out / "events.parquet"
    if not path.exists():
        users = int(size / EVENTS_PER_USER)
        print(f"simulating {users:,} users into {out} ...", flush=True)
        # Simulate aside and rename at the end, so an interrupted run is never reused.
        partial = out.with_name(out.name + ".partial")
        simulate_shop(SimulationConfig(users=users, days=365, seed=11), partial)
        partial.rename(out)
    return path


def main() -> None:
    """Run every contender at every size and print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000000,50000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--only", default="tenure,duckdb_sql,polars,pandas", help="Contenders to run."
    )
    parser.add_argument("--contender")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.contender:
        fn = {
            "pandas": contender_pandas,
            "polars": contender_polars,
            "duckdb": contender_duckdb,
            "tenure": contender_tenure,
            "build": None,
        }[args.contender]
        if args.contender == "build":
            events, home = args.path.split("::")
            print(json.dumps(build_tenure(Path(events), Path(home))))
        else:
            print(json.dumps(fn(Path(args.path))))  # type: ignore[misc]
        return
    warn_if_busy()
    results: dict[str, Any] = {"sizes": {}}
    me = [sys.executable, __file__]
    for size in (int(s) for s in args.sizes.split(",")):
        events = simulate(size)
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(events).metadata.num_rows
        home = CACHE / f"home-{size}"
        if not (home / "warehouse.duckdb").exists():
            build = run_child([*me, "--contender", "build", "--path", f"{events}::{home}"])
            print(
                f"{rows:,} events: Tenure import {build.output.get('seconds', 0):.1f} s, rollup rebuild "
                f"{build.output.get('rollup_rebuild_s', 0):.1f} s, peak {build.max_rss_mb:,.0f} MB",
                flush=True,
            )
            results["sizes"].setdefault(str(size), {})["build"] = {
                **build.output,
                "max_rss_mb": build.max_rss_mb,
            }
        entry = results["sizes"].setdefault(str(size), {"rows": rows})
        entry["rows"] = rows
        for name, target in (
            ("tenure", home),
            ("duckdb_sql", events),
            ("polars", events),
            ("pandas", events),
        ):
            if name not in args.only.split(","):
                continue
            best = None
            for _ in range(args.repeat if name != "pandas" else 1):
                run = run_child(
                    [*me, "--contender", name.replace("_sql", ""), "--path", str(target)]
                )
                if run.returncode != 0:
                    print(f"{name} failed: {run.stderr[-1500:]}")
                    break
                if best is None or run.output["seconds"] < best.output["seconds"]:
                    best = run
            if best is not None:
                entry[name] = {**best.output, "max_rss_mb": best.max_rss_mb, "wall_s": best.wall_s}
        ran = {k: v for k, v in entry.items() if isinstance(v, dict) and "digest" in v}
        entry["same_retention"] = len({v["digest"] for v in ran.values()}) == 1
        ref = ran.get("tenure") or next(iter(ran.values()), None)
        entry["same_funnel"] = len({v["funnel_digest"] for v in ran.values()}) == 1 and all(
            same_times(ref["funnel"], v["funnel"]) for v in ran.values() if ref
        )
        entry["same_answer"] = entry["same_retention"] and entry["same_funnel"]
        tenure = entry.get("tenure", {})

        def ratio(v: dict[str, Any], key: str, tenure: dict[str, Any] = tenure) -> float | None:
            return v[key] / tenure[key] if tenure.get(key) else None

        rows_out = [
            [
                name,
                v["retention_s"],
                v["funnel_s"],
                v["seconds"],
                v["max_rss_mb"],
                ratio(v, "retention_s"),
                ratio(v, "funnel_s"),
                ratio(v, "seconds"),
                v["digest"],
                v["funnel_digest"],
            ]
            for name, v in ran.items()
        ]
        print(
            f"\n{rows:,} events (same answer: {entry['same_answer']}; retention "
            f"{entry['same_retention']}, funnel {entry['same_funnel']})"
        )
        if ref:
            print(f"funnel people per step: {ref['funnel']['users']}")
        headers = ["contender", "retention s", "funnel s", "total s", "peak MB"]
        headers += ["retention vs tenure", "funnel vs tenure", "total vs tenure"]
        print(table([*headers, "digest", "funnel digest"], rows_out), flush=True)
    path = write_results("retention", results)
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
