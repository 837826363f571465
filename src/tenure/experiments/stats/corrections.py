"""Multiple-testing corrections across the metrics and variants of one experiment.

Adjusted p-values, as `statsmodels.stats.multitest.multipletests` returns them (the parity
test checks both): Holm's step-down (controls the family-wise error rate) and
Benjamini–Hochberg's step-up (controls the false discovery rate).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input's order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input's order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")[::-1]  # largest first
    scaled = p[order] * m / np.arange(m, 0, -1)
    adjusted = np.minimum(np.minimum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}
