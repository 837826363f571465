"""What the API, the CLI, jobs and other domains call: train, and read the served lists."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

from tenure.config import Settings
from tenure.recommend.data import encode, exclusion, read_raw
from tenure.recommend.serve import Recommender, current, model_store
from tenure.recommend.train import FactorFitter, TrainConfig, train
from tenure.storage.warehouse import Warehouse

# Versions kept on disk; older ones are removed after a new one is stored.
KEEP_VERSIONS = 3


def train_and_store(
    settings: Settings, warehouse: Warehouse, config: TrainConfig | None = None
) -> dict[str, Any]:
    """Train on everything in the warehouse and store a new served version."""
    config = config or TrainConfig()
    fit: FactorFitter | None = None
    with warehouse.reader() as con:
        raw = read_raw(con)
        if config.personal == "spark-als":
            from tenure.recommend.models.spark_als import spark_fitter

            fit = spark_fitter(con)
    data = encode(raw, exclusion(settings.recommend_exclude_skus))
    artefact, summary = train(data, config, fit)
    store = model_store(settings.home)
    version = store.save(artefact, summary)
    for old in store.versions()[:-KEEP_VERSIONS]:
        shutil.rmtree(store.root / old, ignore_errors=True)
    return {**summary, "version": version}


def recommender(settings: Settings) -> Recommender:
    """The newest trained version (NotTrained when there is none)."""
    return current(settings.home)


def for_user(
    settings: Settings,
    user_id: str,
    n: int = 10,
    context: Sequence[str] = (),
    category: str | None = None,
) -> dict[str, Any]:
    """A user's list: known users get their own, unknown ones the cold-start list."""
    rec = recommender(settings)
    picks, known = rec.for_user(user_id, n, context, category, settings.recommend_max_per_category)
    return {
        "user_id": user_id,
        "model_version": rec.version,
        "known_user": known,
        "items": [rec.describe(p) for p in picks],
    }


def together(settings: Settings, sku: str, n: int = 10) -> dict[str, Any]:
    """An item's bought-together partners, with pair statistics where they come from orders."""
    rec = recommender(settings)
    code, picks = rec.together(sku, n, settings.recommend_max_per_category)
    items = []
    for pick in picks:
        described = rec.describe(pick)
        described["statistics"] = rec.statistics(code, pick.item)
        items.append(described)
    return {
        "sku": sku,
        "name": rec.names[code],
        "model_version": rec.version,
        "items": items,
    }


def overview(settings: Settings, pairs: int = 20, listed: int = 10) -> dict[str, Any]:
    """What the console shows of the served model: its summary, the strongest bundles (with
    their statistics) and the starter and popular lists."""
    rec = recommender(settings)
    bundles = []
    for item, partner in rec.strongest_pairs(pairs):
        bundles.append(
            {
                "sku": rec.sku(item),
                "name": rec.names[item],
                "partner_sku": rec.sku(partner),
                "partner_name": rec.names[partner],
                **(rec.statistics(item, partner) or {}),
            }
        )
    lists = {
        name: [
            {"sku": rec.sku(i), "name": rec.names[i]}
            for i in rec.cold.get(name, {}).get("items", [])[:listed]
        ]
        for name in ("starter", "popular", "trending")
    }
    return {"version": rec.version, "meta": rec.meta, "bundles": bundles, "lists": lists}


def upsell(settings: Settings, skus: Sequence[str], n: int = 3) -> list[dict[str, Any]]:
    """Items to suggest beside a cart: bought with what is in it, nothing already in it.
    Empty when no model is trained or no cart item is known: a checkout never fails for it."""
    from tenure.recommend.errors import NotTrained

    try:
        rec = recommender(settings)
    except NotTrained:
        return []
    picks = rec.beside(skus, n, settings.recommend_max_per_category)
    return [rec.describe(p) for p in picks]
