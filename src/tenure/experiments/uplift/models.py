"""Uplift learners on LightGBM: the two-model approach and the X-learner.

Both estimate the conditional average treatment effect τ(x) = E[Y(1) − Y(0) | X = x] from a
randomised (or known-propensity) assignment, in scikit-learn shape: `fit(X, treated, y)`
returns self, `predict_uplift(X)` gives τ̂ per row, fitted parts end in `_`.

* `TwoModel` (the "T-learner" of Künzel et al. 2019, §2): μ̂0 on the control rows, μ̂1 on the
  treated rows, τ̂(x) = μ̂1(x) − μ̂0(x).
* `XLearner` (Künzel, Sekhon, Bickel and Yu 2019, "Metalearners for estimating heterogeneous
  treatment effects using machine learning", PNAS 116(10), §2, eqs. 7–9): the same μ̂0 and μ̂1,
  then imputed effects D¹ᵢ = Yᵢ − μ̂0(Xᵢ) on the treated and D⁰ᵢ = μ̂1(Xᵢ) − Yᵢ on the control
  rows, a regression τ̂1 on D¹ and τ̂0 on D⁰, combined as τ̂(x) = g(x) τ̂0(x) + (1 − g(x)) τ̂1(x)
  with g the propensity score: the known treated share of a randomised test, or a logistic
  model of assignment on the numeric features.

Every booster is LightGBM with one thread, a fixed seed and deterministic histograms: the same
rows give the same model, bit for bit. The sizes are modest (150 rounds of 15 leaves), so a few
thousand customers fit in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from tenure.predict.churn.model import PARAMS as CHURN_PARAMS
from tenure.predict.clv.inputs import FloatArray

# The churn model's LightGBM settings (one thread, fixed seed, deterministic), as regressors.
PARAMS: dict[str, Any] = {**CHURN_PARAMS, "objective": "regression", "learning_rate": 0.05}
ROUNDS = 150
STATE_FILE = "learner.json"
Kind = Literal["two_model", "x_learner"]


class UpliftModelError(ValueError):
    """The rows cannot support the learner (a missing column, an empty arm, not fitted)."""


def _logit_inverse(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


@dataclass
class Propensity:
    """g(x) = P(treated | x): a constant share, or a logistic model on standardised features.

    The logistic model is kept as plain numbers (fill values, centre, scale, coefficients), so
    it is stored as JSON beside the boosters.
    """

    share: float | None = None
    columns: list[str] = field(default_factory=list)
    fill: list[float] = field(default_factory=list)
    centre: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0

    @classmethod
    def fit(cls, x: pd.DataFrame, treated: FloatArray, how: float | str) -> Propensity:
        """`how`: a known share in (0, 1), "share" (the treated share of the rows) or
        "logistic" (an L2-regularised logistic regression on the numeric columns)."""
        if isinstance(how, int | float):
            if not 0 < how < 1:
                raise UpliftModelError(f"propensity must be in (0, 1), got {how}")
            return cls(share=float(how))
        if how == "share":
            return cls(share=float(treated.mean()))
        if how != "logistic":
            raise UpliftModelError(f"unknown propensity {how!r}: use a share, share or logistic")
        from sklearn.linear_model import LogisticRegression

        numeric = x.select_dtypes("number")
        fill = numeric.median().fillna(0.0)
        values = numeric.fillna(fill).to_numpy(np.float64)
        centre, scale = values.mean(axis=0), values.std(axis=0)
        scale[scale == 0] = 1.0
        fitted = LogisticRegression(C=1.0, max_iter=500).fit((values - centre) / scale, treated)
        return cls(
            columns=list(numeric.columns),
            fill=[float(v) for v in fill],
            centre=[float(v) for v in centre],
            scale=[float(v) for v in scale],
            coef=[float(v) for v in fitted.coef_[0]],
            intercept=float(fitted.intercept_[0]),
        )

    def __call__(self, x: pd.DataFrame) -> FloatArray:
        """g(x) per row, clipped to [0.01, 0.99] so neither arm's effect model is ignored."""
        if self.share is not None:
            return np.full(len(x), self.share)
        values = (
            x[self.columns]
            .astype("float64")
            .fillna(dict(zip(self.columns, self.fill, strict=True)))
        )
        z = ((values.to_numpy() - self.centre) / self.scale) @ np.asarray(self.coef)
        return np.clip(_logit_inverse(z + self.intercept), 0.01, 0.99)


@dataclass
class _Learner:
    """Shared parts: the input matrix (numeric floats, categories at their training levels)
    and LightGBM regressors."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=lambda: dict(PARAMS))
    rounds: int = ROUNDS
    categories_: dict[str, list[str]] = field(default_factory=dict)

    kind: ClassVar[Kind]

    @property
    def features(self) -> list[str]:
        """Model input columns, in order."""
        return [*self.numeric, *self.categorical]

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input; a missing column is an error naming it."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise UpliftModelError(f"missing feature column(s): {', '.join(missing)}")
        out = frame[list(self.numeric)].astype("float64").reset_index(drop=True)
        for column in self.categorical:
            levels = self.categories_.get(column, [])
            values = frame[column].astype("string").reset_index(drop=True)
            out[column] = pd.Categorical(values, categories=levels)
        return out

    def _prepare(self, frame: pd.DataFrame, treated: Any, y: Any) -> tuple[Any, Any, Any]:
        w = np.asarray(treated, dtype=bool)
        target = np.asarray(y, dtype=np.float64)
        if len(w) != len(frame) or len(target) != len(frame):
            raise UpliftModelError("X, treated and y must have the same length")
        if w.all() or not w.any():
            raise UpliftModelError("need both treated and control rows")
        self.categories_ = {
            c: sorted(str(v) for v in frame[c].dropna().unique()) for c in self.categorical
        }
        return self.matrix(frame), w, target

    def _train(self, x: pd.DataFrame, y: FloatArray) -> lgb.Booster:
        data = lgb.Dataset(x, y, categorical_feature=list(self.categorical) or "auto")
        return lgb.train(self.params, data, num_boost_round=self.rounds)

    @staticmethod
    def _predict(booster: lgb.Booster | None, x: pd.DataFrame) -> FloatArray:
        if booster is None:
            raise UpliftModelError("the model is not fitted")
        return np.asarray(booster.predict(x), dtype=np.float64)

    def _boosters(self) -> dict[str, lgb.Booster | None]:
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def save(self, folder: Path) -> None:
        """Write each booster as `<name>.txt` and the rest as learner.json into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, booster in self._boosters().items():
            if booster is None:
                raise UpliftModelError("the model is not fitted")
            booster.save_model(str(folder / f"{name}.txt"))
        state = {
            "kind": self.kind,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "categories": self.categories_,
            "params": self.params,
            "rounds": self.rounds,
            **self._extra_state(),
        }
        (folder / STATE_FILE).write_text(json.dumps(state, indent=2), "utf-8")


@dataclass
class TwoModel(_Learner):
    """τ̂(x) = μ̂1(x) − μ̂0(x), one outcome regression per arm (Künzel et al. 2019, the
    T-learner)."""

    kind: ClassVar[Kind] = "two_model"
    control_: lgb.Booster | None = None
    treated_: lgb.Booster | None = None

    def fit(self, frame: pd.DataFrame, treated: Any, y: Any) -> TwoModel:
        """Fit μ̂0 on the control rows and μ̂1 on the treated rows of `frame`."""
        x, w, target = self._prepare(frame, treated, y)
        self.control_ = self._train(x[~w], target[~w])
        self.treated_ = self._train(x[w], target[w])
        return self

    def predict_uplift(self, frame: pd.DataFrame) -> FloatArray:
        """τ̂ per row: the expected outcome if treated minus if not."""
        x = self.matrix(frame)
        return self._predict(self.treated_, x) - self._predict(self.control_, x)

    def _boosters(self) -> dict[str, lgb.Booster | None]:
        return {"mu0": self.control_, "mu1": self.treated_}


@dataclass
class XLearner(_Learner):
    """The X-learner (Künzel et al. 2019, eqs. 7–9): imputed individual effects regressed per
    arm, weighted by the propensity score g(x)."""

    kind: ClassVar[Kind] = "x_learner"
    propensity: float | str = "share"
    control_: lgb.Booster | None = None
    treated_: lgb.Booster | None = None
    effect_control_: lgb.Booster | None = None
    effect_treated_: lgb.Booster | None = None
    propensity_: Propensity | None = None

    def fit(self, frame: pd.DataFrame, treated: Any, y: Any) -> XLearner:
        """Stage 1: μ̂0, μ̂1. Stage 2: τ̂1 on D¹ = Y − μ̂0(X) (treated), τ̂0 on D⁰ = μ̂1(X) − Y
        (control). Stage 3: the propensity g."""
        x, w, target = self._prepare(frame, treated, y)
        self.control_ = self._train(x[~w], target[~w])
        self.treated_ = self._train(x[w], target[w])
        imputed_treated = target[w] - self._predict(self.control_, x[w])
        imputed_control = self._predict(self.treated_, x[~w]) - target[~w]
        self.effect_treated_ = self._train(x[w], imputed_treated)
        self.effect_control_ = self._train(x[~w], imputed_control)
        self.propensity_ = Propensity.fit(x, w.astype(np.float64), self.propensity)
        return self

    def predict_uplift(self, frame: pd.DataFrame) -> FloatArray:
        """τ̂(x) = g(x) τ̂0(x) + (1 − g(x)) τ̂1(x)."""
        if self.propensity_ is None:
            raise UpliftModelError("the model is not fitted")
        x = self.matrix(frame)
        g = self.propensity_(x)
        effect_control = self._predict(self.effect_control_, x)
        effect_treated = self._predict(self.effect_treated_, x)
        return np.asarray(g * effect_control + (1.0 - g) * effect_treated, dtype=np.float64)

    def _boosters(self) -> dict[str, lgb.Booster | None]:
        return {
            "mu0": self.control_,
            "mu1": self.treated_,
            "tau0": self.effect_control_,
            "tau1": self.effect_treated_,
        }

    def _extra_state(self) -> dict[str, Any]:
        g = self.propensity_
        return {"propensity": self.propensity, "fitted_propensity": g.__dict__ if g else None}


UpliftLearner = TwoModel | XLearner


def learner(
    kind: Kind, numeric: tuple[str, ...], categorical: tuple[str, ...] = ()
) -> UpliftLearner:
    """A new, unfitted learner of that kind."""
    if kind == "two_model":
        return TwoModel(numeric, categorical)
    if kind == "x_learner":
        return XLearner(numeric, categorical)
    raise UpliftModelError(f"unknown learner {kind!r}: use two_model or x_learner")


def load_learner(folder: Path) -> UpliftLearner:
    """Read a learner written by `save`."""
    state = json.loads((folder / STATE_FILE).read_text("utf-8"))

    def booster(name: str) -> lgb.Booster:
        return lgb.Booster(model_file=str(folder / f"{name}.txt"))

    common: dict[str, Any] = {
        "numeric": tuple(state["numeric"]),
        "categorical": tuple(state["categorical"]),
        "params": state["params"],
        "rounds": int(state["rounds"]),
        "categories_": state["categories"],
    }
    if state["kind"] == "two_model":
        return TwoModel(**common, control_=booster("mu0"), treated_=booster("mu1"))
    if state["kind"] == "x_learner":
        return XLearner(
            **common,
            propensity=state["propensity"],
            control_=booster("mu0"),
            treated_=booster("mu1"),
            effect_control_=booster("tau0"),
            effect_treated_=booster("tau1"),
            propensity_=Propensity(**state["fitted_propensity"]),
        )
    raise UpliftModelError(f"unknown learner kind {state['kind']!r} in {folder}")
