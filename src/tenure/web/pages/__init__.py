"""One module per console page (or group of pages); each exposes `router`."""

from __future__ import annotations

from fastapi import APIRouter

from tenure.web.pages import overview

PAGE_ROUTERS: tuple[APIRouter, ...] = (overview.router,)
