"""HTTP: a user's list and an item's bought-together partners (server key), the served model
(admin). Answers come from the memory-mapped lists of the newest version, not the warehouse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.i18n import normalise, use_locale
from tenure.kit.bounds import Line, UserId
from tenure.recommend import service
from tenure.recommend.schemas import ItemRecommendations, ModelOut, UserRecommendations

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])

Sku = Annotated[Line, Path(min_length=1, max_length=200)]
MAX_CONTEXT = 50
Locale = Annotated[
    str | None, Query(max_length=35, description="Language of the reasons: en or zh-CN.")
]


@router.get("/users/{user_id:path}", response_model=UserRecommendations, summary="For a user")
def for_user(
    user_id: UserId,
    request: Request,
    n: int = Query(10, ge=1, le=50, description="How many items."),
    context: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="Comma-separated SKUs in the cart or on the page: items bought with "
            "them come first, and they are not listed themselves.",
        ),
    ] = None,
    category: Annotated[Line | None, Query(max_length=200)] = None,
    locale: Locale = None,
    _who: Principal = Depends(require("server")),
) -> UserRecommendations:
    """The user's list; a user the model does not know gets the cold-start list (not a 404)."""
    skus = [s.strip() for s in (context or "").split(",") if s.strip()][:MAX_CONTEXT]
    with use_locale(normalise(locale)):
        result = service.for_user(request.app.state.settings, user_id, n, skus, category)
    return UserRecommendations.model_validate(result)


# `:path`, so a SKU with a slash (`12/34`, sent as 12%2F34 or 12/34) is found, not a 404.
@router.get(
    "/items/{sku:path}/together", response_model=ItemRecommendations, summary="Bought together"
)
def together(
    sku: Sku,
    request: Request,
    n: int = Query(10, ge=1, le=50, description="How many items."),
    locale: Locale = None,
    _who: Principal = Depends(require("server")),
) -> ItemRecommendations:
    """Items bought with this one (pair count, confidence, lift), then viewed with it, then
    popular in its category. An unknown SKU is a 404."""
    with use_locale(normalise(locale)):
        result = service.together(request.app.state.settings, sku, n)
    return ItemRecommendations.model_validate(result)


@router.get("/model", response_model=ModelOut, summary="The served model")
def model(request: Request, _who: Principal = Depends(require("admin"))) -> ModelOut:
    """The version the lists come from, and what it was trained on."""
    rec = service.recommender(request.app.state.settings)
    return ModelOut.model_validate({**rec.meta, "version": rec.version})
