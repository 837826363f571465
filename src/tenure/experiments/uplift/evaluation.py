"""Judging an uplift ranking on held-out treated and control units: Qini and uplift curves.

Sort the units by predicted uplift, highest first, and target the top fraction φ. With
N_T(φ), N_C(φ) the treated and control units in that part and Y_T(φ), Y_C(φ) the sums of their
outcomes:

* Qini curve (Radcliffe 2007, "Using control groups to target on predicted lift: building
  and assessing uplift models", Direct Marketing Analytics Journal):
  Q(φ) = Y_T(φ) − Y_C(φ) · N_T(φ) / N_C(φ), the incremental outcome of the targeted treated
  units over what their like controls did.
* Uplift curve (Rzepakowski and Jaroszewicz 2012, "Decision trees for uplift modeling with
  single and multiple treatments", Knowledge and Information Systems 32):
  U(φ) = (Ȳ_T(φ) − Ȳ_C(φ)) · (N_T(φ) + N_C(φ)), the incremental outcome had every targeted
  unit been treated. AUUC is the area under U(φ) / N over φ ∈ [0, 1]: a per-unit figure;
  random targeting scores half the average effect.
* Qini coefficient: the area between the Qini curve and the random line φ · Q(1), as a share of
  the total lift |Q(1)| (the normalised Qini score of causalml). 0 is random targeting, 0.5 is
  every bit of lift in the first units; more than that means the model also finds the units
  the treatment hurts. With no overall lift (Q(1) = 0) it has no scale: it is None, and
  `reason` says so (as gbstats does, a figure that cannot be computed carries a reason).

Units with equal predicted uplift are one step of the curves (they cannot be told apart), so
the curves do not depend on the order of the rows. Where a targeted part has no control unit
yet, its control mean counts as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SHARES = (0.1, 0.3, 0.5)


@dataclass(frozen=True)
class UpliftCurves:
    """Qini and uplift curves at each step (a tie group of predictions), starting at (0, 0)."""

    fraction: FloatArray
    qini: FloatArray
    uplift: FloatArray

    def qini_at(self, share: float) -> float:
        """Q(share), linearly interpolated between steps."""
        return float(np.interp(share, self.fraction, self.qini))


def _arrays(uplift: Any, treated: Any, outcome: Any) -> tuple[FloatArray, BoolArray, FloatArray]:
    score = np.asarray(uplift, dtype=np.float64)
    w = np.asarray(treated, dtype=bool)
    y = np.asarray(outcome, dtype=np.float64)
    if not (score.shape == w.shape == y.shape) or score.ndim != 1:
        raise ValueError("uplift, treated and outcome must be 1-d and of the same length")
    if not (np.isfinite(score).all() and np.isfinite(y).all()):
        raise ValueError("uplift and outcome must be finite")
    return score, w, y


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def uplift_curves(uplift: Any, treated: Any, outcome: Any) -> UpliftCurves:
    """Qini and uplift curves of a ranking (Radcliffe 2007; Rzepakowski and Jaroszewicz 2012)."""
    score, w, y = _arrays(uplift, treated, outcome)
    if score.size == 0:
        zero = np.zeros(1)
        return UpliftCurves(zero, zero, zero)
    order = np.argsort(-score, kind="stable")
    score, w, y = score[order], w[order], y[order]
    n_t = np.cumsum(w).astype(np.float64)
    n_c = np.cumsum(~w).astype(np.float64)
    y_t = np.cumsum(np.where(w, y, 0.0))
    y_c = np.cumsum(np.where(w, 0.0, y))
    # The last unit of each group of equal scores: the curve steps there only.
    ends = np.flatnonzero(np.r_[score[1:] != score[:-1], True])
    n_t, n_c, y_t, y_c = n_t[ends], n_c[ends], y_t[ends], y_c[ends]
    targeted = n_t + n_c
    qini = y_t - y_c * _ratio(n_t, n_c)
    lift = (_ratio(y_t, n_t) - _ratio(y_c, n_c)) * targeted
    return UpliftCurves(
        fraction=np.r_[0.0, targeted / score.size],
        qini=np.r_[0.0, qini],
        uplift=np.r_[0.0, lift],
    )


def _area(x: FloatArray, y: FloatArray) -> float:
    """Trapezoidal area under y(x)."""
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


@dataclass(frozen=True)
class UpliftEvaluation:
    """How well a ranking finds the incremental outcome on held-out units.

    `total_lift` is Q(1), the incremental outcome of all treated units; `targeted` maps a
    share (as text, "0.3") to Q(share), what targeting that top share would have gained.
    """

    units: int
    treated: int
    control: int
    total_lift: float
    qini_area: float
    random_qini_area: float
    qini_coefficient: float | None
    auuc: float
    random_auuc: float
    targeted: dict[str, float]
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values, floats rounded to 6 places."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 6)
        out["targeted"] = {k: round(v, 6) for k, v in self.targeted.items()}
        return out


def evaluate(
    uplift: Any, treated: Any, outcome: Any, shares: Sequence[float] = SHARES
) -> UpliftEvaluation:
    """Qini coefficient, AUUC and the gain of targeting each share, against random targeting."""
    score, w, y = _arrays(uplift, treated, outcome)
    curves = uplift_curves(score, w, y)
    total = float(curves.qini[-1])
    area = _area(curves.fraction, curves.qini)
    random_area = total / 2.0
    per_unit = curves.uplift / max(score.size, 1)
    coefficient, reason = None, None
    if total == 0.0:
        reason = "no overall lift: the Qini curve has no scale"
    else:
        coefficient = (area - random_area) / abs(total)
    return UpliftEvaluation(
        units=int(score.size),
        treated=int(w.sum()),
        control=int((~w).sum()),
        total_lift=total,
        qini_area=area,
        random_qini_area=random_area,
        qini_coefficient=coefficient,
        auuc=_area(curves.fraction, per_unit),
        random_auuc=float(per_unit[-1]) / 2.0,
        targeted={str(s): curves.qini_at(s) for s in shares},
        reason=reason,
    )


def top(ranking: Any, share: float) -> BoolArray:
    """The top `share` of units by `ranking` (highest first; round(share × n) of them, ties
    broken by position)."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    values = np.asarray(ranking, dtype=np.float64)
    mask = np.zeros(values.size, dtype=bool)
    mask[np.argsort(-values, kind="stable")[: round(share * values.size)]] = True
    return mask


def captured(true_effect: Any, ranking: Any, share: float) -> float:
    """The sum of the true individual effects (a simulator's truth) of the top `share` by
    `ranking`: what targeting them really gains."""
    effect = np.asarray(true_effect, dtype=np.float64)
    if effect.shape != np.shape(ranking):
        raise ValueError("true_effect and ranking must have the same length")
    return float(effect[top(ranking, share)].sum())
