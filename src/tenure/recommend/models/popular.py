"""Cold start: popular and trending items overall, per category and per country, and the
starter list (what new customers buy in their first order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.recommend.data import Interactions

DAY = 86_400


@dataclass(frozen=True)
class Ranked:
    """Item codes best first, with their scores."""

    items: list[int]
    scores: list[float]

    def to_dict(self) -> dict[str, list[int] | list[float]]:
        return {"items": self.items, "scores": self.scores}


@dataclass(frozen=True)
class ColdStart:
    """Every fallback list, by item code."""

    popular: Ranked
    trending: Ranked
    starter: Ranked
    by_category: dict[str, Ranked] = field(default_factory=dict)
    by_country: dict[str, Ranked] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The lists as the served version's coldstart.json holds them."""
        return {
            "popular": self.popular.to_dict(),
            "trending": self.trending.to_dict(),
            "starter": self.starter.to_dict(),
            "by_category": {k: v.to_dict() for k, v in self.by_category.items()},
            "by_country": {k: v.to_dict() for k, v in self.by_country.items()},
        }


def _ranked(counts: npt.NDArray[np.float64], k: int, allowed: npt.NDArray[np.bool_]) -> Ranked:
    score = np.where(allowed & (counts > 0), counts, -np.inf)
    order = np.argsort(-score, kind="stable")[:k]
    order = order[np.isfinite(score[order])]
    return Ranked([int(i) for i in order], [round(float(score[i]), 4) for i in order])


def buyers(
    x: Interactions, since: int | None = None, users: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.float64]:
    """Distinct buyers per item (optionally since a time, optionally among some users)."""
    stream = x.events
    rows = stream[stream["kind"] == 2]
    if since is not None:
        rows = rows[rows["ts"] >= since]
    if users is not None:
        rows = rows[users[rows["user"].to_numpy()]]
    pairs = rows[["user", "item"]].drop_duplicates()
    return np.bincount(pairs["item"].to_numpy(), minlength=x.catalogue.size).astype(np.float64)


def cold_start(
    x: Interactions,
    k: int = 50,
    recent_days: int = 30,
    trend_days: int = 7,
    min_country_buyers: int = 20,
) -> ColdStart:
    """Popular = distinct buyers in the last `recent_days`; trending = buyers in the last
    `trend_days` above what the weeks before predicted (a smoothed ratio, at least 3 buyers)."""
    active = x.catalogue.active
    end = int(x.events["ts"].max()) if len(x.events) else 0
    recent = buyers(x, end - recent_days * DAY)
    overall = buyers(x)
    popular = recent + overall / max(overall.max(), 1.0) * 1e-3  # ties broken by all-time
    last = buyers(x, end - trend_days * DAY)
    before = recent - last
    expected = before * trend_days / max(recent_days - trend_days, 1)
    trend = np.where(last >= 3, last * np.log((last + 1) / (expected + 1)), 0.0)
    starter = np.bincount(x.first_items, minlength=x.catalogue.size).astype(np.float64)

    by_category: dict[str, Ranked] = {}
    cats = x.catalogue.categories
    for name in sorted({str(c) for c in cats if c}):
        by_category[name] = _ranked(popular, k, active & (cats == name))
    by_country: dict[str, Ranked] = {}
    for name in sorted({str(c) for c in x.country if c}):
        members = x.country == name
        if members.sum() < min_country_buyers:
            continue
        by_country[name] = _ranked(buyers(x, end - recent_days * 4 * DAY, members), k, active)
    return ColdStart(
        popular=_ranked(popular, k, active),
        trending=_ranked(trend, k, active),
        starter=_ranked(starter, k, active),
        by_category=by_category,
        by_country=by_country,
    )
