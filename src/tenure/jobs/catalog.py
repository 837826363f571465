"""The jobs Tenure ships: each domain's scheduled work, listed explicitly."""

from __future__ import annotations

from typing import Any

from tenure.jobs.registry import JobContext, JobRegistry, JobSpec
from tenure.kit.time import utc_now
from tenure.loyalty.jobs import review_tiers, run_points_jobs
from tenure.promotions.jobs import release_expired_holds
from tenure.referrals.jobs import run_due
from tenure.segments.jobs import refresh_due_segments, score_lifecycle, score_rfm

HOUR = 3600
DAY = 24 * HOUR


def churn_train(ctx: JobContext) -> dict[str, Any]:
    """Train a new churn model version on all data and write every customer's churn score."""
    # Imported when run: the model libraries would add a second to every CLI command's start.
    from tenure.predict.service import retrain_churn

    return retrain_churn(ctx.settings, ctx.warehouse)


def clv_score(ctx: JobContext) -> dict[str, Any]:
    """Refit BG/NBD and Gamma-Gamma and write every customer's CLV score."""
    from tenure.predict.service import score_clv

    result = score_clv(ctx.warehouse, ctx.settings.zone)
    return {"version": result["version"], "scored": result["written"]}


def recommend_train(ctx: JobContext) -> dict[str, Any]:
    """Retrain the recommenders and refresh every user's and item's served list."""
    from tenure.recommend.errors import NoData
    from tenure.recommend.service import train_and_store

    try:
        result = train_and_store(ctx.settings, ctx.warehouse)
    except NoData:
        # A new shop without orders yet: nothing to learn, not a failure to retry.
        return {"skipped": "no_data"}
    return {k: result[k] for k in ("version", "users", "items", "seconds")}


def loyalty_points(ctx: JobContext) -> dict[str, Any]:
    """Confirm pending points, release stale checkout holds, expire lots, send expiry reminders."""
    return run_points_jobs(ctx.database, utc_now())


def loyalty_tiers(ctx: JobContext) -> dict[str, Any]:
    """Start grace periods and downgrade members at the tier review boundary."""
    return {"tiers_changed": review_tiers(ctx.database, ctx.settings.zone, utc_now())}


def promotions_expire(ctx: JobContext) -> dict[str, Any]:
    """Release checkout holds (coupon uses, stock, budget) not confirmed within their time."""
    return release_expired_holds(ctx.database, utc_now())


def referrals_due(ctx: JobContext) -> dict[str, Any]:
    """Reward or hold referrals past their return window; fail group buys past their deadline."""
    return run_due(ctx.database, ctx.settings.zone, utc_now())


def segments_refresh(ctx: JobContext) -> dict[str, Any]:
    """Refresh every saved segment whose own interval has passed, and the rule-based tags."""
    return refresh_due_segments(ctx.database, ctx.warehouse, ctx.settings.zone)


def segments_rfm(ctx: JobContext) -> dict[str, Any]:
    """Write every customer's RFM scores."""
    return score_rfm(ctx.warehouse, ctx.settings.zone)


def segments_lifecycle(ctx: JobContext) -> dict[str, Any]:
    """Write lifecycle stages and record stage transitions for campaign triggers."""
    return score_lifecycle(ctx.database, ctx.warehouse, ctx.settings.zone)


def weekly_review(ctx: JobContext) -> dict[str, Any]:
    """E-mail the last complete week's review to every subscribed operator, once per week each."""
    from tenure.reports.weekly.jobs import send_reviews  # Jinja, Babel: only when it runs

    return send_reviews(ctx.settings, ctx.database, ctx.warehouse, utc_now())


def default_registry() -> JobRegistry:
    """Every built-in job with its default interval."""
    return JobRegistry(
        [
            JobSpec("predict.churn.train", 7 * DAY, churn_train, "Retrain and score churn."),
            JobSpec("predict.clv.score", DAY, clv_score, "Refit CLV models, write CLV scores."),
            JobSpec("recommend.train", DAY, recommend_train, "Retrain recommendations, top-K."),
            JobSpec("loyalty.points", 5 * 60, loyalty_points, "Confirm, expire, remind, release."),
            JobSpec("loyalty.tiers", DAY, loyalty_tiers, "Tier grace periods and downgrades."),
            JobSpec("promotions.expire", 60, promotions_expire, "Release expired checkout holds."),
            JobSpec("referrals.due", 5 * 60, referrals_due, "Referral rewards, group deadlines."),
            JobSpec("segments.refresh", 5 * 60, segments_refresh, "Refresh due segments, tags."),
            JobSpec("segments.rfm", DAY, segments_rfm, "Write RFM scores."),
            JobSpec("segments.lifecycle", DAY, segments_lifecycle, "Stages and stage transitions."),
            # Hourly, so it goes out soon after the week ends; a (operator, week) is sent once.
            JobSpec("weekly_review", HOUR, weekly_review, "Weekly review e-mail to subscribers."),
        ]
    )
