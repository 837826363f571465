"""The trained lists as files: what `tenure serve` answers from without touching the warehouse.

One version folder (see storage/model_store.py) holds:
- `users.npy`: user ids, sorted, fixed-width UTF-8 (a binary search finds a row);
- `user_items.npy`, `user_scores.npy`, `user_reasons.npy`, `user_anchors.npy`: K per user;
- `user_country.npy`: a position in coldstart.json's `countries` (-1: unknown);
- `bought_indptr.npy`, `bought_items.npy`: what each user bought (not repeatable), by row;
- `items.npy`: SKUs sorted (item codes are positions in it), with `item_*.npy` partners;
- `catalogue.json`: names, categories, active flags; `coldstart.json`: the fallback lists.
Arrays are memory-mapped, so a server with 1M users holds only the pages it reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ARRAYS = (
    "users",
    "user_items",
    "user_scores",
    "user_reasons",
    "user_anchors",
    "user_country",
    "bought_indptr",
    "bought_items",
    "items",
    "item_partners",
    "item_scores",
    "item_reasons",
    "item_pairs",
    "item_confidence",
    "item_lift",
)


@dataclass(frozen=True)
class Artefact:
    """Everything a version serves; arrays are numpy (in memory when built, mapped when read)."""

    arrays: dict[str, npt.NDArray[Any]]
    catalogue: dict[str, Any]  # names, categories, active
    coldstart: dict[str, Any]  # popular, trending, starter, by_category, by_country

    def save(self, folder: Path) -> None:
        """Write every file into `folder` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", self.arrays[name], allow_pickle=False)
        (folder / "catalogue.json").write_text(json.dumps(self.catalogue), "utf-8")
        (folder / "coldstart.json").write_text(json.dumps(self.coldstart), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> Artefact:
        """Map the arrays and read the JSON parts of a version folder."""
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in ARRAYS
        }
        return cls(
            arrays=arrays,
            catalogue=json.loads((folder / "catalogue.json").read_text("utf-8")),
            coldstart=json.loads((folder / "coldstart.json").read_text("utf-8")),
        )


def sorted_ids(
    ids: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int64]]:
    """Ids as a sorted fixed-width byte array, and the order that sorts them."""
    encoded = np.array([str(i).encode("utf-8") for i in ids], dtype=bytes)
    if encoded.size == 0:
        encoded = np.array([], dtype="S1")
    order = np.argsort(encoded, kind="stable")
    return encoded[order], order


def find(sorted_keys: npt.NDArray[np.bytes_], key: str) -> int | None:
    """The row of `key` in a sorted byte array, or None."""
    raw = key.encode("utf-8")
    if sorted_keys.size == 0 or len(raw) > sorted_keys.dtype.itemsize:
        return None
    at = int(np.searchsorted(sorted_keys, raw))
    if at < sorted_keys.size and sorted_keys[at] == raw:
        return at
    return None
