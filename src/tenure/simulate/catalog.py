"""Item catalogue: categories, prices, popularity and co-purchase partners."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.config import SimulationConfig

Array = npt.NDArray[Any]

STREAM_CATALOG = 1


@dataclass(frozen=True)
class CategorySpec:
    """A product category with its price level and complementary categories."""

    name: str
    share: float
    median_price: float
    price_sigma: float
    nouns: tuple[str, ...]
    complements: tuple[str, ...]


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "apparel",
        0.22,
        35.0,
        0.5,
        ("T-Shirt", "Hoodie", "Jeans", "Dress", "Jacket"),
        ("shoes", "accessories"),
    ),
    CategorySpec(
        "shoes", 0.10, 85.0, 0.4, ("Sneakers", "Boots", "Sandals", "Loafers"), ("apparel", "sports")
    ),
    CategorySpec(
        "accessories",
        0.12,
        25.0,
        0.6,
        ("Belt", "Cap", "Scarf", "Wallet", "Sunglasses"),
        ("apparel",),
    ),
    CategorySpec(
        "home",
        0.14,
        40.0,
        0.7,
        ("Mug", "Candle", "Cushion", "Throw", "Vase", "Lamp"),
        ("books", "grocery"),
    ),
    CategorySpec(
        "beauty", 0.12, 22.0, 0.5, ("Face Cream", "Shampoo", "Lipstick", "Serum"), ("accessories",)
    ),
    CategorySpec(
        "electronics",
        0.08,
        110.0,
        0.8,
        ("Headphones", "Charger", "Speaker", "Watch"),
        ("accessories", "sports"),
    ),
    CategorySpec(
        "sports",
        0.08,
        45.0,
        0.6,
        ("Yoga Mat", "Bottle", "Dumbbells", "Shorts"),
        ("apparel", "shoes"),
    ),
    CategorySpec(
        "books", 0.06, 16.0, 0.3, ("Cookbook", "Novel", "Notebook", "Planner"), ("home", "grocery")
    ),
    CategorySpec(
        "grocery", 0.08, 9.0, 0.5, ("Coffee Beans", "Tea", "Chocolate", "Olive Oil"), ("home",)
    ),
)
ADJECTIVES = (
    "Classic",
    "Essential",
    "Premium",
    "Organic",
    "Vintage",
    "Urban",
    "Eco",
    "Deluxe",
    "Everyday",
    "Signature",
    "Nordic",
    "Coastal",
)
COLORS = ("black", "white", "navy", "grey", "red", "green", "beige", "blue", "pink", "brown")
BRANDS = ("Northwind", "Aster", "Lumen", "Kestrel", "Juniper", "Halcyon", "Oakridge", "Vela")
PARTNERS_PER_ITEM = 3


@dataclass(frozen=True)
class Catalog:
    """Catalogue arrays indexed by item number; categories are contiguous item ranges."""

    skus: list[str]
    names: list[str]
    attributes: list[str]
    category: Array  # int64 category index per item
    price_cents: Array  # int64
    popularity_cdf: Array  # global cumulative popularity, ends at 1
    category_cdf: Array  # per-item cumulative popularity, offset by category index
    category_weights: Array  # probability of each category (by popularity)
    partners: Array  # (items, PARTNERS_PER_ITEM) int64

    @property
    def category_names(self) -> list[str]:
        """Category names in index order."""
        return [c.name for c in CATEGORIES]

    def draw_popular(self, rng: np.random.Generator, n: int) -> Array:
        """n items drawn by global popularity."""
        idx = np.searchsorted(self.popularity_cdf, rng.random(n), side="right")
        return np.minimum(idx, self.price_cents.size - 1)

    def draw_in_category(self, rng: np.random.Generator, categories: Array) -> Array:
        """One item per entry, drawn by popularity within the given category."""
        u = categories + rng.random(categories.size) * (1 - 1e-12)
        idx = np.searchsorted(self.category_cdf, u, side="right")
        return np.minimum(idx, self.price_cents.size - 1)


def _category_counts(items: int) -> Array:
    """Items per category by share, at least two each (largest-remainder rounding)."""
    shares = np.array([c.share for c in CATEGORIES])
    shares = shares / shares.sum()
    spare = items - 2 * len(CATEGORIES)
    raw = shares * spare
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    return counts + 2


def build_catalog(config: SimulationConfig) -> Catalog:
    """Deterministic catalogue for a config (depends on seed and items only)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, STREAM_CATALOG]))
    counts = _category_counts(config.items)
    n_cat = len(CATEGORIES)
    category = np.repeat(np.arange(n_cat), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    median = np.array([c.median_price for c in CATEGORIES])[category]
    sigma = np.array([c.price_sigma for c in CATEGORIES])[category]
    dollars = np.maximum(np.rint(median * np.exp(sigma * rng.standard_normal(config.items))), 2)
    # Charm pricing: most prices end in .99, some in .49 or .00.
    ending = rng.choice(np.array([1, 51, 0]), size=config.items, p=[0.7, 0.2, 0.1])
    price_cents = (dollars * 100 - ending).astype(np.int64)
    rank = rng.permutation(config.items) + 1
    weight = 1.0 / rank**0.8
    popularity_cdf = np.cumsum(weight) / weight.sum()
    cat_total = np.bincount(category, weights=weight, minlength=n_cat)
    within = np.cumsum(weight) - np.concatenate([[0.0], np.cumsum(cat_total)])[category]
    category_cdf = category + within / cat_total[category]
    category_cdf[starts[1:] - 1] = np.arange(1, n_cat)  # exact segment ends
    category_cdf[-1] = n_cat

    names_idx = {c.name: i for i, c in enumerate(CATEGORIES)}
    comp = [np.array([names_idx[x] for x in c.complements]) for c in CATEGORIES]
    complement_cat = np.array([comp[c][rng.integers(comp[c].size)] for c in category])
    temp = Catalog(
        [],
        [],
        [],
        category,
        price_cents,
        popularity_cdf,
        category_cdf,
        cat_total / cat_total.sum(),
        np.empty((0, 0), dtype=np.int64),
    )
    same = np.stack([temp.draw_in_category(rng, category) for _ in range(2)], axis=1)
    # A product is not its own partner: move to the next product of the same category.
    pos = same - starts[category][:, None]
    self_hit = same == np.arange(config.items)[:, None]
    same = np.where(
        self_hit, starts[category][:, None] + (pos + 1) % counts[category][:, None], same
    )
    other = temp.draw_in_category(rng, complement_cat)
    partners = np.concatenate([same, other[:, None]], axis=1).astype(np.int64)

    adj = rng.integers(len(ADJECTIVES), size=config.items)
    col = rng.integers(len(COLORS), size=config.items)
    brand = rng.integers(len(BRANDS), size=config.items)
    noun_pick = rng.integers(1 << 30, size=config.items)
    skus, names, attrs = [], [], []
    for i in range(config.items):
        spec = CATEGORIES[int(category[i])]
        noun = spec.nouns[int(noun_pick[i]) % len(spec.nouns)]
        color = COLORS[int(col[i])]
        skus.append(f"SKU-{i + 1:05d}")
        names.append(f"{ADJECTIVES[int(adj[i])]} {color.capitalize()} {noun}")
        attrs.append(
            json.dumps({"brand": BRANDS[int(brand[i])], "color": color}, separators=(",", ":"))
        )
    return Catalog(
        skus,
        names,
        attrs,
        category,
        price_cents,
        popularity_cdf,
        category_cdf,
        temp.category_weights,
        partners,
    )
