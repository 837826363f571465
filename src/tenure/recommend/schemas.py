"""HTTP shapes of the recommendation lists."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReasonOut(BaseModel):
    """Why an item is listed: a stable code, the text in the request's language, and what the
    reason points at (an item of the user's history or the cart, or a category or country)."""

    code: str = Field(
        description="for_you, similar_to, bought_together, viewed_together, popular, "
        "popular_in_country, popular_in_category, trending or starter."
    )
    text: str
    sku: str | None = Field(None, description="The item the reason names, if any.")
    place: str | None = Field(None, description="The category or country, if any.")


class PairStatistics(BaseModel):
    """How often the two items were bought in one order, over every order the model saw."""

    orders: int = Field(description="Orders holding both items.")
    confidence: float = Field(description="Share of the item's orders that also hold this one.")
    lift: float = Field(description="Confidence over this item's share of all orders.")


class RecommendedItem(BaseModel):
    sku: str
    name: str
    category: str | None
    score: float
    reason: ReasonOut


class TogetherItem(RecommendedItem):
    statistics: PairStatistics | None = Field(
        None, description="Set for items bought together; absent for fill-ins."
    )


class UserRecommendations(BaseModel):
    user_id: str
    model_version: str
    known_user: bool = Field(description="False: the user is new to the model (cold start).")
    items: list[RecommendedItem]


class ItemRecommendations(BaseModel):
    sku: str
    name: str
    model_version: str
    items: list[TogetherItem]


class ModelOut(BaseModel):
    """The served version and what it was trained on."""

    version: str
    users: int
    items: int
    baskets: int
    interactions: int
    data_end: str | None
    seconds: dict[str, float]
