"""The funnel workload of bench_retention.py: Tenure's ordered funnel, rebuilt by each peer.

Workload: 4 steps, ordered mode, 7-day window, on every event of the simulated file. The peers
reproduce Tenure's semantics (src/tenure/analytics/funnels/runner.py and modes.py) exactly:

- A person is the identity-merged user id (an anonymous_id belongs to the user it was last
  seen with, `arg_max(user_id, ts)`, as the importer resolves it), else the anonymous_id of a
  visitor who never identified (those count too, unlike in retention).
- Every step-1 event opens an attempt whose window starts at that event. A step-k event
  continues the latest-starting attempt that reached step k-1 strictly before it (strictly
  earlier timestamp), if it is no later than that attempt's start + 7 days (inclusive). The
  starts of an attempt level rise with time, so "latest start before it" is a backward as-of
  join on (person, time) that excludes equal times.
- Each person counts once, with the best attempt: the furthest step, then the latest start
  (repeated browsing before a purchase counts from the last step 1). Step k's time is the
  first moment that attempt reached step k.
- Out: people per step (the funnel digest) and, per step 2..4, the median seconds from the
  previous step and from step 1 over the people who reached it (compared with Tenure's,
  rounded to the millisecond as Tenure reports them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
WINDOW_DAYS = 7
WINDOW_US = WINDOW_DAYS * 86_400 * 1_000_000
RANK = 10**16  # attempts ranked by level * RANK + start (µs since 1970 < 10^16), as Tenure does


def funnel_digest(users: list[int]) -> str:
    """A digest of the per-step people counts."""
    text = json.dumps({"steps": list(STEPS), "window_days": WINDOW_DAYS, "users": users})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def funnel_answer(users: list[int], median: list[Any], median_start: list[Any]) -> dict[str, Any]:
    """The funnel part of a contender's output; medians rounded as Tenure's FunnelResult."""

    def seconds(value: Any) -> float | None:
        return None if value is None or value != value else round(float(value), 3)

    return {
        "funnel_digest": funnel_digest([int(u) for u in users]),
        "funnel": {
            "users": [int(u) for u in users],
            "median_s": [seconds(v) for v in median],
            "median_from_start_s": [seconds(v) for v in median_start],
        },
    }


def same_times(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.0011) -> bool:
    """Whether two funnel answers have the same medians (within Tenure's millisecond rounding)."""
    for key in ("median_s", "median_from_start_s"):
        for x, y in zip(a[key], b[key], strict=True):
            if (x is None) != (y is None) or (x is not None and abs(x - y) > tolerance):
                return False
    return True


def tenure_runner() -> Any:
    """Tenure's ordered FunnelRunner for the workload (built before the clock starts)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from tenure.analytics.funnels import FunnelQuery, funnel_runner

    query = FunnelQuery(steps=STEPS, mode="ordered", window=timedelta(days=WINDOW_DAYS))
    return funnel_runner(query, ZoneInfo("UTC"))


def funnel_tenure(runner: Any, con: Any) -> dict[str, Any]:
    """Tenure's ordered FunnelRunner on the warehouse (identities merged at import)."""
    result = runner(con)
    steps = result.overall.steps
    return funnel_answer(
        [s.users for s in steps],
        [s.median_seconds for s in steps[1:]],
        [s.median_seconds_from_start for s in steps[1:]],
    )


def funnel_pandas(path: Path) -> dict[str, Any]:
    """Idiomatic pandas: merge_asof per step, then the best attempt per person."""
    import pandas as pd

    ev = pd.read_parquet(path, columns=["user_id", "anonymous_id", "name", "ts"])
    ev = ev[ev.user_id.notna() | ev.anonymous_id.notna()]
    both = ev[ev.user_id.notna() & ev.anonymous_id.notna()].sort_values("ts")
    link = both.groupby("anonymous_id").user_id.last()
    ev = ev[ev.name.isin(STEPS)]
    person = ev.user_id.fillna(ev.anonymous_id.map(link)).fillna(ev.anonymous_id)
    rows = pd.DataFrame(
        {
            "person": person,
            "step": ev.name.map({name: i for i, name in enumerate(STEPS)}),
            "us": ev.ts.dt.as_unit("us").astype("int64"),
        }
    ).sort_values("us", kind="stable")
    level = rows.loc[rows.step == 0, ["person", "us"]].assign(start=lambda d: d.us)
    levels = [level]
    for k in range(1, len(STEPS)):
        consumers = rows.loc[rows.step == k, ["person", "us"]]
        linked = pd.merge_asof(
            consumers, level, on="us", by="person", allow_exact_matches=False
        ).dropna(subset=["start"])
        linked["start"] = linked.start.astype("int64")
        level = linked[linked.us <= linked.start + WINDOW_US]
        levels.append(level)
    # Best attempt: the furthest level reached, then the latest start at that level.
    best = pd.DataFrame({"level": 1, "start": levels[0].groupby("person").start.max()})
    for k, lv in enumerate(levels[1:], start=2):
        starts = lv.groupby("person").start.max()
        best.loc[starts.index, "level"] = k
        best.loc[starts.index, "start"] = starts
    users = [int((best.level >= k).sum()) for k in range(1, len(STEPS) + 1)]
    times = {1: best.start}
    for k, lv in enumerate(levels[1:], start=2):
        mine = lv.join(best.start.rename("best"), on="person")
        times[k] = mine[mine.start == mine.best].groupby("person").us.min()
    t = pd.DataFrame(times)
    median = [((t[k] - t[k - 1]) / 1e6).median() for k in range(2, len(STEPS) + 1)]
    median_start = [((t[k] - t[1]) / 1e6).median() for k in range(2, len(STEPS) + 1)]
    return funnel_answer(users, median, median_start)


def funnel_polars(path: Path) -> dict[str, Any]:
    """Polars lazy: join_asof per step, then the best attempt per person."""
    import polars as pl

    ev = (
        pl.scan_parquet(path)
        .select("user_id", "anonymous_id", "name", "ts")
        .filter(pl.col("user_id").is_not_null() | pl.col("anonymous_id").is_not_null())
    )
    link = (
        ev.filter(pl.col("user_id").is_not_null() & pl.col("anonymous_id").is_not_null())
        .group_by("anonymous_id")
        .agg(pl.col("user_id").sort_by("ts").last().alias("linked"))
    )
    rows = (
        ev.filter(pl.col("name").is_in(STEPS))
        .join(link, on="anonymous_id", how="left")
        .select(
            person=pl.coalesce("user_id", "linked", "anonymous_id"),
            step=pl.col("name").replace_strict(
                {name: i for i, name in enumerate(STEPS)}, return_dtype=pl.Int8
            ),
            us=pl.col("ts").dt.epoch("us"),
        )
        .sort("us")
        .collect()
        .lazy()
    )
    level = (
        rows.filter(pl.col("step") == 0).select("person", "us", start=pl.col("us")).collect().lazy()
    )
    levels = [level]
    for k in range(1, len(STEPS)):
        level = (
            rows.filter(pl.col("step") == k)
            .select("person", "us")
            .join_asof(
                level, on="us", by="person", allow_exact_matches=False, check_sortedness=False
            )
            .filter(pl.col("us") <= pl.col("start") + WINDOW_US)
            .collect()
            .lazy()
        )
        levels.append(level)
    attempts = pl.concat(
        [lv.select("person", "start", level=pl.lit(k, pl.Int64)) for k, lv in enumerate(levels, 1)]
    )
    best = (
        attempts.group_by("person")
        .agg(rank=(pl.col("level") * RANK + pl.col("start")).max())
        .select("person", level=pl.col("rank") // RANK, best=pl.col("rank") % RANK)
    )
    times = best.select("person", "level", s1="best")
    for k, lv in enumerate(levels[1:], start=2):
        first = (
            lv.join(best.select("person", "best"), on="person")
            .filter(pl.col("start") == pl.col("best"))
            .group_by("person")
            .agg(pl.col("us").min().alias(f"s{k}"))
        )
        times = times.join(first, on="person", how="left")
    n = len(STEPS)
    out = times.select(
        *[(pl.col("level") >= k).sum().alias(f"users{k}") for k in range(1, n + 1)],
        *[
            ((pl.col(f"s{k}") - pl.col(f"s{k - 1}")) / 1e6).median().alias(f"med{k}")
            for k in range(2, n + 1)
        ],
        *[
            ((pl.col(f"s{k}") - pl.col("s1")) / 1e6).median().alias(f"from{k}")
            for k in range(2, n + 1)
        ],
    ).collect()
    row = out.row(0, named=True)
    return funnel_answer(
        [row[f"users{k}"] for k in range(1, n + 1)],
        [row[f"med{k}"] for k in range(2, n + 1)],
        [row[f"from{k}"] for k in range(2, n + 1)],
    )


def funnel_duckdb(path: Path) -> dict[str, Any]:
    """Hand-written DuckDB SQL: an ASOF JOIN per step, then the best attempt per person."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    names = ", ".join("'" + s.replace("'", "''") + "'" for s in STEPS)
    n = len(STEPS)
    con.execute(f"""CREATE TEMP TABLE s AS
                    WITH ev AS (SELECT user_id, anonymous_id, name, ts FROM read_parquet('{path}')
                                WHERE user_id IS NOT NULL OR anonymous_id IS NOT NULL),
                    link AS (SELECT anonymous_id, arg_max(user_id, ts) AS linked FROM ev
                             WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY 1)
                    SELECT coalesce(ev.user_id, link.linked, ev.anonymous_id) AS person,
                           CAST(list_position([{names}], ev.name) AS TINYINT) AS step,
                           epoch_us(ev.ts) AS us
                    FROM ev LEFT JOIN link USING (anonymous_id) WHERE ev.name IN ({names})""")
    con.execute("CREATE TEMP TABLE l1 AS SELECT person, us, us AS start FROM s WHERE step = 1")
    for k in range(2, n + 1):
        con.execute(f"""CREATE TEMP TABLE l{k} AS
                        SELECT c.person, c.us, p.start
                        FROM (SELECT person, us FROM s WHERE step = {k}) c
                        ASOF JOIN l{k - 1} p ON c.person = p.person AND c.us > p.us
                        WHERE c.us <= p.start + {WINDOW_US}""")
    every = " UNION ALL ".join(
        f"SELECT {k} AS level, person, us, start FROM l{k}" for k in range(1, n + 1)
    )
    times = ", ".join(f"min(a.us) FILTER (a.level = {k}) AS s{k}" for k in range(1, n + 1))
    users = ", ".join(f"count(*) FILTER (level >= {k})" for k in range(1, n + 1))
    medians = ", ".join(
        f"median(CAST(s{k} - s{k - 1} AS DOUBLE) / 1000000), "
        f"median(CAST(s{k} - s1 AS DOUBLE) / 1000000)"
        for k in range(2, n + 1)
    )
    row = con.execute(f"""WITH a AS ({every}),
                          r AS (SELECT person, max(level * {RANK} + start) AS rank
                                FROM a GROUP BY 1),
                          b AS (SELECT person, rank // {RANK} AS level, rank % {RANK} AS best
                                FROM r),
                          t AS (SELECT b.person, any_value(b.level) AS level, {times}
                                FROM b JOIN a ON a.person = b.person AND a.start = b.best
                                GROUP BY b.person)
                          SELECT {users}, {medians} FROM t""").fetchone()
    assert row is not None
    return funnel_answer(list(row[:n]), list(row[n::2]), list(row[n + 1 :: 2]))
