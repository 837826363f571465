"""The rankings the churn model must beat, the verdict, and a baseline as a calibrated scorer.

A baseline is one column of the feature frame turned into a churn score (higher = more likely
to churn): recency alone, or a BG/NBD quantity fitted on the same history. The model is only
worth its complexity where it ranks better; where it does not, `comparison` says so and names
the best baseline, which `CalibratedBaseline` then turns into calibrated probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tenure.i18n import translate
from tenure.predict.churn.calibration import Calibration, centred_isotonic
from tenure.predict.churn.metrics import RankingMetrics
from tenure.predict.clv.inputs import FloatArray

MODEL = "model"
# The metric that decides which ranking the scores use; the others are reported.
DECIDING_METRIC = "roc_auc"
COMPARED_METRICS = ("roc_auc", "pr_auc", "top_decile_lift")


@dataclass(frozen=True)
class Baseline:
    """A churn score from one feature column: `sign` · column (+ `offset`)."""

    name: str
    column: str
    sign: float
    offset: float = 0.0

    def scores(self, frame: pd.DataFrame) -> FloatArray:
        """Higher = more likely to churn; NaN where the column is missing."""
        values = frame[self.column].to_numpy(dtype=np.float64)
        return np.asarray(self.offset + self.sign * values, dtype=np.float64)


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("recency", "recency_days", 1.0),
        # Ranks badly: a one-time buyer has P(alive) = 1 in BG/NBD, and one-time buyers churn most.
        Baseline("bgnbd_p_alive", "bgnbd_p_alive", -1.0, 1.0),
        # BG/NBD's own churn probability: no order in the window.
        Baseline("bgnbd_p_order", "bgnbd_p_order", -1.0, 1.0),
        # The ranking lifetimes uses (AUC 0.76 on CDNOW's 39/39-week split).
        Baseline("bgnbd_expected_orders", "bgnbd_expected_orders", -1.0),
    )
}


@dataclass(frozen=True)
class Comparison:
    """Whether the model beats each baseline, per metric, and which ranking the scores use.

    The model is used only when its ROC-AUC is strictly higher than the best baseline's; a tie
    goes to the simpler baseline. When the model's ROC-AUC cannot be computed (one class only
    in the window) nothing is decided and the model stays, with `code` saying so.
    """

    beats: dict[str, dict[str, bool | None]]
    best_baseline: str | None
    ranker: str
    code: str
    model_score: float | None
    baseline_score: float | None

    def as_dict(self) -> dict[str, Any]:
        """Plain values with the catalogue message."""
        return {
            "metric": DECIDING_METRIC,
            "model_beats": self.beats,
            "best_baseline": self.best_baseline,
            "model_wins": self.ranker == MODEL,
            "ranker": self.ranker,
            "code": self.code,
            "message": self.message(),
        }

    def message(self) -> str:
        """The verdict in one sentence."""
        best = self.best_baseline or ""
        return translate(
            self.code,
            model=_fmt(self.model_score),
            baseline=_fmt(self.baseline_score),
            baseline_name=translate(f"churn.ranking.{best}") if best else "–",
            ranker=translate(f"churn.ranking.{self.ranker}"),
        )


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _beats(model: float | None, baseline: float | None) -> bool | None:
    if model is None or baseline is None:
        return None
    return model > baseline


def compare(rankings: Mapping[str, RankingMetrics]) -> Comparison:
    """The verdict on `rankings` (the model's and each baseline's metrics on one window)."""
    model = rankings[MODEL]
    beats = {
        name: {m: _beats(getattr(model, m), getattr(metrics, m)) for m in COMPARED_METRICS}
        for name, metrics in rankings.items()
        if name != MODEL
    }
    scored = {
        name: value
        for name, metrics in rankings.items()
        if name != MODEL and (value := getattr(metrics, DECIDING_METRIC)) is not None
    }
    # The first of equals in BASELINES order (the simplest) is the best.
    best = max(scored, key=lambda n: scored[n]) if scored else None
    best_score = scored[best] if best is not None else None
    model_score = getattr(model, DECIDING_METRIC)
    if model_score is None:
        return Comparison(beats, best, MODEL, "churn.verdict.undecided", None, best_score)
    if best_score is None or model_score > best_score:
        return Comparison(beats, best, MODEL, "churn.verdict.model_wins", model_score, best_score)
    assert best is not None
    return Comparison(beats, best, best, "churn.verdict.baseline_wins", model_score, best_score)


@dataclass(frozen=True)
class CalibratedBaseline:
    """A baseline's score mapped to a churn probability by centred isotonic regression."""

    baseline: Baseline
    calibration: Calibration
    churn_rate: float

    @classmethod
    def fit(cls, name: str, frame: pd.DataFrame, churned: Any) -> CalibratedBaseline:
        """Calibrate baseline `name` on training rows and their 0/1 churn labels.

        A baseline learns nothing from the labels but this monotone map, so the training rows
        serve as its out-of-sample rows. Rows without a score (no BG/NBD fit) are left out.
        """
        baseline = BASELINES[name]
        scores = baseline.scores(frame)
        labels = np.asarray(churned, dtype=np.float64)
        known = np.isfinite(scores)
        calibration = centred_isotonic(scores[known], labels[known])
        return cls(baseline, calibration, float(labels[known].mean()))

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        """Churn probability per row; NaN where the baseline has no score."""
        scores = self.baseline.scores(frame)
        return np.where(np.isfinite(scores), self.calibration(scores), np.nan)

    def drivers(self, frame: pd.DataFrame, probability: FloatArray) -> list[list[dict[str, Any]]]:
        """One driver per row, the baseline's column: its value and the probability's log-odds
        against the training churn rate."""
        base = _logit(self.churn_rate)
        values = frame[self.baseline.column].to_numpy(dtype=np.float64)
        out: list[list[dict[str, Any]]] = []
        for value, p in zip(values, probability, strict=True):
            if not np.isfinite(value) or not np.isfinite(p):
                out.append([])
                continue
            effect = round(float(_logit(p) - base), 4)
            shown = int(value) if float(value).is_integer() else round(float(value), 3)
            out.append([{"feature": self.baseline.column, "value": shown, "effect": effect}])
        return out

    def as_dict(self) -> dict[str, Any]:
        """What the model version's metadata keeps of it."""
        return {
            "name": self.baseline.name,
            "column": self.baseline.column,
            "churn_rate": self.churn_rate,
            "calibration": {"x": list(self.calibration.x), "y": list(self.calibration.y)},
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> CalibratedBaseline:
        """Read what `as_dict` wrote."""
        knots = state["calibration"]
        return cls(
            BASELINES[str(state["name"])],
            Calibration(tuple(knots["x"]), tuple(knots["y"])),
            float(state["churn_rate"]),
        )


def _logit(p: float) -> float:
    q = min(max(p, 1e-6), 1.0 - 1e-6)
    return float(np.log(q / (1.0 - q)))
