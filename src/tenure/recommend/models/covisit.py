"""Co-visitation with time decay, the approach that won on OTTO's sessions: two items a user
touched within a day of each other are related; carts and orders count more than views, and
recent activity counts more than old (weight 1 at the start of the data, 4 at its end)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from tenure.recommend.data import Interactions
from tenure.recommend.models.topk import prune

# View, cart, order: the weights of the second item of a pair (OTTO's "carts-orders" matrix).
KIND_WEIGHTS = (1.0, 6.0, 3.0)
WINDOW_SECONDS = 24 * 3600
LAST_PER_USER = 30


@dataclass(frozen=True)
class CoVisit:
    """Items × items co-visitation weights, each row pruned to its K best."""

    matrix: sparse.csr_matrix


def covisit_pairs(stream: pd.DataFrame, n_items: int, k: int = 40) -> sparse.csr_matrix:
    """The weighted pairs of a (user, item, ts, kind) stream, each row pruned to k."""
    if stream.empty:
        return sparse.csr_matrix((n_items, n_items), dtype=np.float32)
    lo, hi = int(stream["ts"].min()), int(stream["ts"].max())
    con = duckdb.connect()
    try:
        con.register("stream", stream)
        # Each user's last interactions, one row per (user, item, kind) at its latest time.
        frame = con.execute(
            f"""
            WITH dedup AS (
                SELECT "user", item, kind, max(ts) AS ts FROM stream GROUP BY ALL
            ), recent AS (
                SELECT * FROM (
                    SELECT *, row_number() OVER (PARTITION BY "user" ORDER BY ts DESC) AS n
                    FROM dedup
                ) WHERE n <= {LAST_PER_USER}
            )
            SELECT a.item AS a, b.item AS b,
                   sum(CASE b.kind WHEN 0 THEN {KIND_WEIGHTS[0]} WHEN 1 THEN {KIND_WEIGHTS[1]}
                       ELSE {KIND_WEIGHTS[2]} END
                       * (1 + 3 * (greatest(a.ts, b.ts) - {lo}) / {max(hi - lo, 1)}))::FLOAT AS w
            FROM recent a JOIN recent b
              ON a."user" = b."user" AND a.item <> b.item
             AND abs(a.ts - b.ts) < {WINDOW_SECONDS}
            GROUP BY ALL
            """
        ).fetchnumpy()
    finally:
        con.close()
    matrix = sparse.csr_matrix(
        (frame["w"].astype(np.float32), (frame["a"], frame["b"])), shape=(n_items, n_items)
    )
    return prune(matrix, k)


def fit_covisit(x: Interactions, k: int = 40) -> CoVisit:
    """Co-visitation over the interaction stream (views, carts, orders)."""
    return CoVisit(covisit_pairs(x.events, x.catalogue.size, k))
