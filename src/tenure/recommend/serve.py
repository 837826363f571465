"""Answering from the newest trained version: a user's list and an item's partners.

A list is the user's precomputed items, after the serving rules: items of the request's
context first (bought with what is in the cart or on the page), the context items themselves
and inactive items left out, at most `max_per_category` per category, then the cold-start lists
(the user's country, then popular; the starter list for an unknown user) until `n` are found.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tenure.i18n import translate
from tenure.recommend.artefact import Artefact, find
from tenure.recommend.errors import NotTrained, UnknownItem
from tenure.recommend.models.topk import NONE
from tenure.recommend.reasons import Reason
from tenure.storage.model_store import ModelStore

KIND = "recommend"
# How long a server trusts the newest version it knows before looking for a newer one.
RECHECK_SECONDS = 5.0


def model_store(home: Path) -> ModelStore:
    return ModelStore(home, KIND, lambda version: NotTrained(version=version))


@dataclass(frozen=True)
class Pick:
    """One listed item: its code, score, why, and what the reason points at."""

    item: int
    score: float
    reason: Reason
    anchor: int = NONE  # an item code
    place: str = ""  # a category or a country


class Recommender:
    """One version's lists, memory-mapped, with the serving rules."""

    def __init__(self, version: str, artefact: Artefact, meta: dict[str, Any]) -> None:
        self.version = version
        self.meta = meta
        self.a = artefact.arrays
        self.names: list[str] = artefact.catalogue["names"]
        self.categories: list[str] = artefact.catalogue["categories"]
        self.active = np.asarray(artefact.catalogue["active"], dtype=bool)
        self.cold = artefact.coldstart
        self.countries: list[str] = artefact.coldstart.get("countries", [])

    # Lookups ---------------------------------------------------------------------------------
    def item_code(self, sku: str) -> int | None:
        return find(self.a["items"], sku)

    def sku(self, code: int) -> str:
        return bytes(self.a["items"][code]).decode("utf-8")

    def user_row(self, user_id: str) -> int | None:
        return find(self.a["users"], user_id)

    def _bought(self, row: int | None) -> set[int]:
        if row is None:
            return set()
        start, end = self.a["bought_indptr"][row], self.a["bought_indptr"][row + 1]
        return set(self.a["bought_items"][start:end].tolist())

    def _cold(self, name: str, place: str = "") -> Iterator[tuple[int, float]]:
        if name in ("by_category", "by_country"):
            ranked = self.cold[name].get(place)
        else:
            ranked = self.cold.get(name)
        if ranked:
            yield from zip(ranked["items"], ranked["scores"], strict=True)

    # Lists ------------------------------------------------------------------------------------
    def partners(self, code: int) -> Iterator[Pick]:
        row = self.a["item_partners"][code]
        for j, score, reason in zip(
            row, self.a["item_scores"][code], self.a["item_reasons"][code], strict=True
        ):
            if j == NONE:
                break
            yield Pick(int(j), float(score), Reason(int(reason)), anchor=code)

    def _user_picks(self, row: int) -> Iterator[Pick]:
        items = self.a["user_items"][row]
        for j, score, reason, anchor in zip(
            items,
            self.a["user_scores"][row],
            self.a["user_reasons"][row],
            self.a["user_anchors"][row],
            strict=True,
        ):
            if j == NONE:
                break
            yield Pick(int(j), float(score), Reason(int(reason)), anchor=int(anchor))

    def _fallbacks(self, row: int | None, category: str | None) -> Iterator[Pick]:
        if category:
            for j, s in self._cold("by_category", category):
                yield Pick(j, s, Reason.POPULAR_IN_CATEGORY, place=category)
        if row is None:
            for j, s in self._cold("starter"):
                yield Pick(j, s, Reason.STARTER)
        else:
            code = int(self.a["user_country"][row])
            if 0 <= code < len(self.countries):
                country = self.countries[code]
                for j, s in self._cold("by_country", country):
                    yield Pick(j, s, Reason.POPULAR_IN_COUNTRY, place=country)
        for j, s in self._cold("trending"):
            yield Pick(j, s, Reason.TRENDING)
        for j, s in self._cold("popular"):
            yield Pick(j, s, Reason.POPULAR)

    def for_user(
        self,
        user_id: str,
        n: int,
        context: Iterable[str] = (),
        category: str | None = None,
        max_per_category: int = 0,
    ) -> tuple[list[Pick], bool]:
        """The user's n items and whether the user was known to the model."""
        row = self.user_row(user_id)
        shown = {c for c in (self.item_code(s) for s in context) if c is not None}
        sources: list[Iterable[Pick]] = [self.partners(c) for c in sorted(shown)]
        if row is not None:
            sources.append(self._user_picks(row))
        sources.append(self._fallbacks(row, category))
        return self._select(sources, n, shown | self._bought(row), category, max_per_category), (
            row is not None
        )

    def together(self, sku: str, n: int, max_per_category: int = 0) -> tuple[int, list[Pick]]:
        """An item's code and its n partners (bought together, then viewed together, then
        popular in its category)."""
        code = self.item_code(sku)
        if code is None:
            raise UnknownItem(sku=sku)
        category = self.categories[code] or None
        sources: list[Iterable[Pick]] = [self.partners(code)]
        if category:
            sources.append(
                Pick(j, s, Reason.POPULAR_IN_CATEGORY, place=category)
                for j, s in self._cold("by_category", category)
            )
        sources.append(Pick(j, s, Reason.POPULAR) for j, s in self._cold("popular"))
        return code, self._select(sources, n, {code}, None, max_per_category)

    def beside(self, skus: Iterable[str], n: int, max_per_category: int = 0) -> list[Pick]:
        """Items bought with any of `skus` (a cart), none of them itself; unknown SKUs ignored."""
        shown = [c for c in (self.item_code(s) for s in skus) if c is not None]
        return self._select(
            [self.partners(c) for c in shown], n, set(shown), None, max_per_category
        )

    def _select(
        self,
        sources: list[Iterable[Pick]],
        n: int,
        skip: set[int],
        category: str | None,
        max_per_category: int,
    ) -> list[Pick]:
        picked: list[Pick] = []
        taken = set(skip)
        per_category: dict[str, int] = {}
        for source in sources:
            for pick in source:
                if len(picked) >= n:
                    return picked
                j = pick.item
                if j in taken or not self.active[j]:
                    continue
                cat = self.categories[j]
                if category and cat != category:
                    continue
                if max_per_category and cat and per_category.get(cat, 0) >= max_per_category:
                    continue
                taken.add(j)
                per_category[cat] = per_category.get(cat, 0) + 1
                picked.append(pick)
        return picked

    def strongest_pairs(self, n: int) -> list[tuple[int, int]]:
        """The n bought-together pairs found in the most orders, each pair once (A, B)."""
        pairs = np.asarray(self.a["item_pairs"])
        together = np.asarray(self.a["item_reasons"]) == Reason.BOUGHT_TOGETHER
        counts = np.where(together, pairs, 0).ravel()
        order = np.argsort(-counts, kind="stable")
        width = pairs.shape[1]
        found: list[tuple[int, int]] = []
        seen: set[tuple[int, int]] = set()
        for flat in order:
            if counts[flat] <= 0 or len(found) >= n:
                break
            item, partner = (
                int(flat // width),
                int(self.a["item_partners"][flat // width][flat % width]),
            )
            key = (min(item, partner), max(item, partner))
            if key not in seen:
                seen.add(key)
                found.append((item, partner))
        return found

    # Presentation -----------------------------------------------------------------------------
    def describe(self, pick: Pick) -> dict[str, Any]:
        """An item as the API shows it, with its reason in the current language."""
        anchor = None
        values: dict[str, Any] = {"place": pick.place}
        if pick.anchor != NONE:
            anchor = self.sku(pick.anchor)
            values["name"] = self.names[pick.anchor]
        reason_text = translate(f"recommend.reason.{pick.reason.key}", **values)
        return {
            "sku": self.sku(pick.item),
            "name": self.names[pick.item],
            "category": self.categories[pick.item] or None,
            "score": round(pick.score, 6),
            "reason": {
                "code": pick.reason.key,
                "text": reason_text,
                "sku": anchor,
                "place": pick.place or None,
            },
        }

    def statistics(self, code: int, partner: int) -> dict[str, Any] | None:
        """Pair count, confidence and lift of a bought-together partner (None for others)."""
        row = self.a["item_partners"][code]
        where = np.flatnonzero(row == partner)
        if where.size == 0 or int(self.a["item_reasons"][code][where[0]]) != Reason.BOUGHT_TOGETHER:
            return None
        at = int(where[0])
        return {
            "orders": int(self.a["item_pairs"][code][at]),
            "confidence": round(float(self.a["item_confidence"][code][at]), 4),
            "lift": round(float(self.a["item_lift"][code][at]), 3),
        }


_cache: dict[Path, Loaded] = {}
_lock = threading.Lock()


def current(home: Path) -> Recommender:
    """The newest version's Recommender, loaded once per version and process; a newer version
    written by a training run is picked up within RECHECK_SECONDS."""
    now = time.monotonic()
    loaded = _cache.get(home)
    if loaded is not None and now - loaded.checked <= RECHECK_SECONDS:
        return loaded.recommender
    with _lock:
        store = model_store(home)
        folder = store.folder()
        loaded = _cache.get(home)
        if loaded is None or loaded.folder != folder:
            meta = store.metadata(folder.name)
            recommender = Recommender(folder.name, Artefact.load(folder), meta)
            loaded = Loaded(folder, recommender, now)
        loaded.checked = now
        _cache[home] = loaded
        return loaded.recommender


@dataclass
class Loaded:
    """A process's copy of the newest version, and when it last looked for a newer one."""

    folder: Path
    recommender: Recommender
    checked: float
