"""Turn latent order values into baskets of catalogue items with co-purchase structure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.catalog import PARTNERS_PER_ITEM, Catalog

Array = npt.NDArray[Any]

MAX_LINES = 5
CANDIDATES = 4
FAVOURITE_SHARE = 0.6
PARTNER_SHARE = 0.5
MAX_QUANTITY = 6


@dataclass(frozen=True)
class Baskets:
    """Order lines for k orders ("slots"), grouped by slot in line order."""

    slot: Array  # int64 slot per line
    sku: Array  # int64 item index per line
    quantity: Array  # int64 per line
    start: Array  # first line index per slot
    count: Array  # lines per slot


def draw_browse_items(rng: np.random.Generator, catalog: Catalog, fav: Array) -> Array:
    """Items a visitor looks at: mostly their favourite category, otherwise bestsellers."""
    in_fav = catalog.draw_in_category(rng, fav)
    popular = catalog.draw_popular(rng, fav.size)
    return np.where(rng.random(fav.size) < FAVOURITE_SHARE, in_fav, popular)


def build_baskets(rng: np.random.Generator, catalog: Catalog, value: Array, fav: Array) -> Baskets:
    """Baskets of 1-5 lines whose total roughly matches each latent order value.

    Each line picks, among a few candidate items (favourite category or bestsellers), the
    one whose price is closest to value / lines; later lines are often a co-purchase partner
    of the first (anchor) line, which creates frequently-bought-together pairs.
    """
    k = value.size
    extra = rng.poisson(0.9 * np.sqrt(value / 80.0))
    lines = 1 + np.minimum(extra, MAX_LINES - 1)
    slot = np.repeat(np.arange(k), lines)
    first = np.cumsum(lines) - lines
    rank = np.arange(slot.size) - first[slot]
    target = value[slot] / lines[slot]

    n = slot.size
    fav_c = np.repeat(fav[slot], CANDIDATES)
    cands = draw_browse_items(rng, catalog, fav_c).reshape(n, CANDIDATES)
    dist = np.abs(np.log(catalog.price_cents[cands] / 100.0) - np.log(target)[:, None])
    matched = cands[np.arange(n), np.argmin(dist, axis=1)]
    anchor = matched[first[slot]]
    partner = catalog.partners[anchor, rng.integers(PARTNERS_PER_ITEM, size=n)]
    is_partner = (rank > 0) & (rng.random(n) < PARTNER_SHARE)
    sku = np.where(is_partner, partner, matched)

    price = catalog.price_cents[sku] / 100.0
    qty_matched = np.clip(np.rint(target / price), 1, MAX_QUANTITY)
    qty_partner = 1 + (rng.random(n) < 0.1)
    quantity = np.where(is_partner, qty_partner, qty_matched).astype(np.int64)

    # The same product twice in one basket becomes one line (first occurrence wins).
    _, first_idx = np.unique(slot * catalog.price_cents.size + sku, return_index=True)
    keep = np.sort(first_idx)
    slot, sku, quantity = slot[keep], sku[keep], quantity[keep]
    count = np.bincount(slot, minlength=k).astype(np.int64)
    start = np.cumsum(count) - count
    return Baskets(slot, sku.astype(np.int64), quantity, start, count)
