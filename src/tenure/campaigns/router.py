"""Campaigns over HTTP: one router for api/app.py, made of the domain's three routers.

- router_admin.py (`admin` scope), under /v1/campaigns: documents, states, previews,
  results, a user's history and the shop-wide policy.
- router_inbox.py (`server` scope): /v1/contacts (contact details and consent) and
  /v1/inbox (the in-app inbox the shop's app shows).
- router_tracking.py (no key; signed tokens), under /v1/t: the open pixel, click redirects
  and one-click unsubscribe.
"""

from __future__ import annotations

from fastapi import APIRouter

from tenure.campaigns.router_admin import router as admin_router
from tenure.campaigns.router_inbox import router as inbox_router
from tenure.campaigns.router_tracking import router as tracking_router

router = APIRouter()
router.include_router(admin_router, prefix="/v1/campaigns")
router.include_router(inbox_router)
router.include_router(tracking_router, prefix="/v1/t")
