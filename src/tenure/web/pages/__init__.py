"""One module per console page (or group of pages); each exposes `router`."""

from __future__ import annotations

from fastapi import APIRouter

from tenure.web.pages import (
    account,
    campaigns,
    customers,
    experiments,
    funnels,
    loyalty,
    offers,
    overview,
    predictions,
    recommendations,
    referrals,
    retention,
    review,
    segments,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    overview.router,
    retention.router,
    funnels.router,
    customers.router,
    segments.router,
    predictions.router,
    recommendations.router,
    loyalty.router,
    offers.router,
    referrals.router,
    campaigns.router,
    experiments.router,
    review.router,
    account.router,
)
