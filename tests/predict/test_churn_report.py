"""HTML: the report's churn-risk section and the evaluation page."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from tenure.predict.churn.baselines import compare
from tenure.predict.churn.metrics import RankingMetrics
from tenure.predict.churn.report import evaluation_html, metrics_table, risk_sections
from tenure.predict.scores import write_scores
from tenure.storage.warehouse import Warehouse

DRIVER = [{"feature": "recency_days", "value": 40, "effect": 0.9}]


def test_no_scores_gives_a_hint_instead_of_charts(warehouse: Warehouse) -> None:
    with warehouse.reader() as con:
        (section,) = risk_sections(con)
    assert "tenure predict churn" in section.note and not section.figures


def test_valuable_customers_at_risk_are_ranked_by_expected_loss(warehouse: Warehouse) -> None:
    churn = {"u1": 0.9, "u2": 0.5, "u3": 0.2}
    clv = {"u1": 1_000, "u2": 10_000, "u3": 100_000}  # minor units
    with warehouse.writer() as w:
        write_scores(
            w,
            "churn",
            "v1",
            [
                (
                    u,
                    {
                        "churn_probability": p,
                        "drivers": DRIVER,
                        "next_order_date": None,
                        "as_of": "2024-03-31",
                        "horizon_days": 90,
                    },
                )
                for u, p in churn.items()
            ],
        )
        write_scores(
            w,
            "clv",
            "2024-03-31",
            [(u, {"clv_minor": v, "currency": "EUR", "p_alive": 0.5}) for u, v in clv.items()],
        )
    with warehouse.reader() as con:
        bands, at_risk = risk_sections(con)
    # Expected loss: u3 0.2 × 1000.00 = 200, u2 0.5 × 100.00 = 50, u1 0.9 × 10.00 = 9.
    users = re.findall(r"<tr><td>(u\d)</td>", at_risk.body)
    assert users == ["u3", "u2", "u1"]
    assert "1,000.00 EUR" in at_risk.body and "recency_days" in at_risk.body
    counts = list(bands.figures[0].data[0].y)
    assert counts == [1, 0, 1, 1]  # 0.2 | – | 0.5 | 0.9
    assert "90 days" in bands.note


def test_the_evaluation_page_lists_every_ranking() -> None:
    metrics = {
        "roc_auc": 0.8,
        "pr_auc": 0.7,
        "top_decile_lift": 1.5,
        "brier": 0.15,
        "calibration_error": 0.03,
        "calibration": [{"customers": 10, "predicted": 0.3, "observed": 0.25}],
    }
    baseline = {
        "roc_auc": 0.7,
        "pr_auc": 0.6,
        "top_decile_lift": 1.2,
        "brier": None,
        "calibration_error": None,
        "calibration": [],
    }
    evaluation = {
        "cutoff": "2024-03-31",
        "window_end": "2024-06-29",
        "horizon_days": 90,
        "customers": 10,
        "churn_rate": 0.4,
        "training_cutoffs": ["2024-01-01"],
        "training_label_days": 90,
        "importance": {"recency_days": 12.0},
        "rankings": {"model": metrics, "recency": baseline},
        "comparison": compare(
            {
                "model": RankingMetrics(10, 0.4, 0.8, 0.7, 1.5),
                "recency": RankingMetrics(10, 0.4, 0.7, 0.6, 1.2),
            }
        ).as_dict(),
    }
    page = evaluation_html(evaluation, ZoneInfo("UTC"))
    assert page.startswith("<!DOCTYPE html>")
    assert "Baseline: recency alone" in page and "0.800" in page and "–" in page
    assert "ranks better than every baseline" in page and "yes/yes/yes" in page


def test_the_evaluation_page_says_when_a_baseline_wins() -> None:
    rankings = {
        "model": RankingMetrics(10, 0.4, 0.7, 0.7, 1.5),
        "recency": RankingMetrics(10, 0.4, 0.8, 0.6, 1.2),
    }
    evaluation = {
        "cutoff": "2024-03-31",
        "window_end": "2024-06-29",
        "horizon_days": 90,
        "customers": 10,
        "churn_rate": 0.4,
        "training_cutoffs": ["2024-01-01"],
        "training_label_days": 90,
        "importance": {"recency_days": 12.0},
        "rankings": {k: v.as_dict() for k, v in rankings.items()},
        "comparison": compare(rankings).as_dict(),
    }
    table = metrics_table(evaluation)
    assert "does not beat the best baseline" in table and "no/yes/yes" in table
    # The recency row carries the mark of the ranking the scores use.
    recency_row = table.split("<td>Baseline: recency alone</td>")[1].split("</tr>")[0]
    assert "✓" in recency_row
