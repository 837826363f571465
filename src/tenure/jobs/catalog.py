"""The jobs Tenure ships: each domain's scheduled work, listed explicitly."""

from __future__ import annotations

from typing import Any

from tenure.jobs.registry import JobContext, JobRegistry, JobSpec

HOUR = 3600
DAY = 24 * HOUR


def churn_train(ctx: JobContext) -> dict[str, Any]:
    """Train a new churn model version on all data and write every customer's churn score."""
    from tenure.predict.churn.service import ChurnConfig
    from tenure.predict.service import score_churn, train_churn

    trained = train_churn(ctx.settings, ctx.warehouse, ChurnConfig())
    version, values = score_churn(ctx.settings, ctx.warehouse, version=str(trained["version"]))
    return {"version": version, "training_rows": trained["training_rows"], "scored": len(values)}


def clv_score(ctx: JobContext) -> dict[str, Any]:
    """Refit BG/NBD and Gamma-Gamma and write every customer's CLV score."""
    from tenure.predict.service import score_clv

    result = score_clv(ctx.warehouse, ctx.settings.timezone, ctx.settings.currency)
    return {"version": result["version"], "scored": result["written"]}


def default_registry() -> JobRegistry:
    """Every built-in job with its default interval."""
    return JobRegistry(
        [
            JobSpec("predict.churn.train", 7 * DAY, churn_train, "Retrain and score churn."),
            JobSpec("predict.clv.score", DAY, clv_score, "Refit CLV models, write CLV scores."),
        ]
    )
