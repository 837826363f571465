"""The scores table: upsert by (user, model, version), newest per model, values per user."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from tenure.predict.scores import latest_expr, latest_scores, model_scores, write_scores
from tenure.storage.warehouse import Warehouse

EARLY = datetime(2026, 1, 1, 8, tzinfo=UTC)
LATE = datetime(2026, 2, 1, 8, tzinfo=UTC)


class TestWriting:
    def test_rewriting_one_version_replaces_the_rows_instead_of_adding(
        self, warehouse: Warehouse
    ) -> None:
        with warehouse.writer() as w:
            write_scores(w, "churn", "v1", [("u1", {"probability": 0.2})], EARLY)
        with warehouse.writer() as w:
            write_scores(w, "churn", "v1", [("u1", {"probability": 0.7})], LATE)
        with warehouse.reader() as con:
            rows = con.table("scores").execute()
        assert len(rows) == 1
        assert json.loads(rows["values"][0]) == {"probability": 0.7}

    def test_numpy_values_and_nan_are_stored_as_plain_json(self, warehouse: Warehouse) -> None:
        with warehouse.writer() as w:
            write_scores(
                w, "clv", "v1", [("u1", {"orders_30d": np.float64(1.5), "clv": float("nan")})]
            )
        with warehouse.reader() as con:
            stored = con.table("scores").execute()["values"][0]
        assert json.loads(stored) == {"clv": None, "orders_30d": 1.5}


class TestLatest:
    def test_a_user_gets_the_newest_row_of_each_model(self, warehouse: Warehouse) -> None:
        with warehouse.writer() as w:
            write_scores(w, "churn", "v1", [("u1", {"probability": 0.2})], EARLY)
            write_scores(w, "churn", "v2", [("u1", {"probability": 0.4})], LATE)
            write_scores(w, "clv", "v1", [("u1", {"clv": 120}), ("u2", {"clv": 5})], EARLY)
        with warehouse.reader() as con:
            scores = latest_scores(con, "u1")
        assert set(scores) == {"churn", "clv"}
        assert scores["churn"]["version"] == "v2"
        assert scores["churn"]["values"] == {"probability": 0.4}
        assert scores["churn"]["computed_at"] == LATE
        assert scores["clv"]["values"] == {"clv": 120}

    def test_a_user_without_scores_gets_an_empty_mapping(self, warehouse: Warehouse) -> None:
        with warehouse.reader() as con:
            assert latest_scores(con, "nobody") == {}

    def test_model_scores_spread_values_into_columns_per_user(self, warehouse: Warehouse) -> None:
        with warehouse.writer() as w:
            write_scores(w, "churn", "v1", [("u1", {"p": 0.1}), ("u2", {"p": 0.9})], EARLY)
            write_scores(w, "churn", "v2", [("u1", {"p": 0.3})], LATE)
        with warehouse.reader() as con:
            newest = model_scores(con, "churn")
            first = model_scores(con, "churn", "v1")
            count = latest_expr(con, "churn").count().execute()
        assert newest.to_dict()["p"] == {"u1": 0.3, "u2": 0.9}
        assert first.to_dict()["p"] == {"u1": 0.1, "u2": 0.9}
        assert count == 2
