"""Every experiment statistic equals GrowthBook's gbstats 0.8.0 (and statsmodels' corrections).

The cases are drawn from seeded random samples (conversions, zero-inflated revenue, order counts,
pre/post pairs for CUPED), so their sums, sums of squares and cross-products are those of real
data, and include the edges: no units, one unit, zero variance, a control converting nobody.
gbstats needs numpy<2, so its figures come from tests/experiments/reference/figures.py run ONCE
per session in .venv-reference (`make reference` builds it; `make test` does first).

One intended difference, checked rather than skipped: gbstats' t-tests refuse a control mean of 0
even for an absolute difference, which needs no division by it; ours computes it. Those cases are
compared with gbstats on the same samples shifted by a constant, which leaves an absolute
difference and its variance unchanged but moves the control's mean off 0.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tenure.experiments.stats.bayesian import Prior, bayesian_test
from tenure.experiments.stats.corrections import benjamini_hochberg, holm
from tenure.experiments.stats.frequentist import sequential_ttest, ttest
from tenure.experiments.stats.srm import srm_p_value
from tenure.experiments.stats.summaries import (
    Adjusted,
    Moments,
    Proportion,
    Ratio,
    SampleMean,
    Statistic,
)
from tests.conftest import ROOT, unavailable

# One worker runs them all under xdist, so the reference runs once per `make test`.
pytestmark = pytest.mark.xdist_group("gbstats_parity")

REFERENCE_PYTHON = ROOT / ".venv-reference" / "bin" / "python"
REFERENCE_STAMP = ROOT / ".venv-reference" / ".installed"
FIGURES = ROOT / "tests" / "experiments" / "reference" / "figures.py"

Spec = dict[str, Any]


@dataclass
class Case:
    """One comparison: `ours` is computed here, `reference` (the same unless said) by gbstats."""

    id: str
    ours: Spec
    reference: Spec = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reference = self.reference or self.ours


# --- Specs of sufficient statistics, from samples ---------------------------------------------


def moments(values: np.ndarray) -> Spec:
    """A 0/1 sample becomes a proportion, anything else a sample mean."""
    if values.size and np.isin(values, (0.0, 1.0)).all():
        return {"type": "proportion", "n": int(values.size), "sum": float(values.sum())}
    return {
        "type": "mean",
        "n": int(values.size),
        "sum": float(values.sum()),
        "sum_squares": float((values * values).sum()),
    }


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> Spec:
    return {
        "type": "ratio",
        "n": int(numerator.size),
        "numerator": moments(numerator),
        "denominator": moments(denominator),
        "sum_of_products": float((numerator * denominator).sum()),
    }


def adjusted(post: np.ndarray, pre: np.ndarray) -> Spec:
    return {
        "type": "adjusted",
        "n": int(post.size),
        "post": moments(post),
        "pre": moments(pre),
        "sum_of_products": float((post * pre).sum()),
    }


def statistic(spec: Spec) -> Statistic:
    """Our dataclass for a spec."""
    kind = spec["type"]
    if kind == "proportion":
        return Proportion(spec["n"], spec["sum"])
    if kind == "mean":
        return SampleMean(spec["n"], spec["sum"], spec["sum_squares"])
    if kind == "ratio":
        return Ratio(
            spec["n"],
            moment(spec["numerator"]),
            moment(spec["denominator"]),
            spec["sum_of_products"],
        )
    return Adjusted(spec["n"], moment(spec["post"]), moment(spec["pre"]), spec["sum_of_products"])


def moment(spec: Spec) -> Moments:
    value = statistic(spec)
    assert isinstance(value, Proportion | SampleMean)
    return value


# --- Samples: what a shop's experiment measures per unit --------------------------------------


def conversions(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return (rng.random(n) < rate).astype(float)


def revenue(rng: np.random.Generator, n: int, rate: float, lift: float = 0.0) -> np.ndarray:
    """Zero-inflated, log-normal order values (most visitors buy nothing)."""
    spend = np.round(rng.lognormal(3.5, 0.9, n) * (1 + lift), 2)
    return spend * conversions(rng, n, rate)


def orders(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    return rng.poisson(mean, n).astype(float)


def pre_post(
    rng: np.random.Generator, n: int, lift: float, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Spend before exposure and after, correlated by `strength`."""
    pre = rng.gamma(2.0, 20.0, n)
    post = strength * pre + (1 - strength) * rng.gamma(2.0, 20.0, n) + lift * 40.0
    return np.round(post, 2), np.round(pre, 2)


RATIOS = ("order-value", "revenue-per-order", "converted-per-session")


def ratio_samples(
    rng: np.random.Generator, name: str, n: int, lift: float
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(numerator, denominator) per unit, for the control and for a variant lifted by `lift`."""

    def sample(m: int, lf: float) -> tuple[np.ndarray, np.ndarray]:
        if name == "order-value":  # revenue per order of buyers
            return revenue(rng, m, 0.9, lf), orders(rng, m, 1.5) + 1
        if name == "revenue-per-order":  # some units have no orders
            return revenue(rng, m, 0.4, lf), orders(rng, m, 0.7)
        return conversions(rng, m, 0.1 * (1 + lf)), orders(rng, m, 3.0) + 1  # per session

    return sample(n, 0.0), sample(n + int(rng.integers(0, 1 + n // 20)), lift)


def pairs() -> list[tuple[str, Spec, Spec]]:
    """(name, control, variant): realistic pairs at small, medium and large n, then the edges."""
    rng = np.random.default_rng(20240611)
    out: list[tuple[str, Spec, Spec]] = []
    for n in (12, 80, 1_500, 40_000, 400_000):
        lift = float(rng.choice([0.0, 0.03, 0.1, 0.4]))
        out.append(
            (
                f"conversion-{n}",
                moments(conversions(rng, n, 0.08)),
                moments(conversions(rng, n, 0.08 * (1 + lift))),
            )
        )
        sizes = (n, n + int(rng.integers(0, max(2, n // 20))))  # unequal arms, as in practice
        out.append(
            (
                f"revenue-{n}",
                moments(revenue(rng, sizes[0], 0.3)),
                moments(revenue(rng, sizes[1], 0.3, lift)),
            )
        )
        out.append(
            (
                f"orders-{n}",
                moments(orders(rng, sizes[0], 1.2)),
                moments(orders(rng, sizes[1], 1.2 * (1 + lift))),
            )
        )
        if n <= 40_000:  # ratios and CUPED pairs at 400k add time, not coverage
            for name in RATIOS:
                control, variant = ratio_samples(rng, name, n, lift)
                out.append((f"{name}-{n}", ratio(*control), ratio(*variant)))
            for strength in (0.2, 0.8):
                post_a, pre_a = pre_post(rng, sizes[0], 0.0, strength)
                post_b, pre_b = pre_post(rng, sizes[1], lift, strength)
                out.append(
                    (
                        f"cuped-{strength}-{n}",
                        adjusted(post_a, pre_a),
                        adjusted(post_b, pre_b),
                    )
                )
            retained_a = conversions(rng, sizes[0], 0.3)
            retained_b = conversions(rng, sizes[1], 0.3 * (1 + lift))
            out.append(
                (
                    f"cuped-proportion-{n}",
                    adjusted(retained_a, np.where(rng.random(sizes[0]) < 0.7, retained_a, 0.0)),
                    adjusted(retained_b, np.where(rng.random(sizes[1]) < 0.7, retained_b, 0.0)),
                )
            )
    return out + edges(rng)


def edges(rng: np.random.Generator) -> list[tuple[str, Spec, Spec]]:
    """Pairs gbstats refuses or treats specially."""
    nothing = np.array([])
    new_users = np.zeros(500)  # no spend before exposure: θ is 0, CUPED falls back to post
    same = moments(revenue(rng, 5_000, 0.3))
    return [
        ("no-units-in-variant", moments(revenue(rng, 50, 0.3)), moments(nothing)),
        ("no-units-anywhere", moments(nothing), moments(nothing)),
        ("one-unit-in-control", moments(revenue(rng, 1, 1.0)), moments(revenue(rng, 50, 0.3))),
        ("control-converts-nobody", moments(np.zeros(300)), moments(conversions(rng, 300, 0.02))),
        ("everyone-converts", moments(np.ones(40)), moments(conversions(rng, 40, 0.9))),
        ("constant-variant", moments(orders(rng, 60, 2.0)), moments(np.full(60, 2.0))),
        (
            "ratio-with-no-denominator",
            ratio(np.zeros(30), np.zeros(30)),
            ratio(revenue(rng, 30, 0.5), orders(rng, 30, 1.0) + 1),
        ),
        (
            "cuped-theta-zero",
            adjusted(revenue(rng, 500, 0.3), new_users),
            adjusted(revenue(rng, 500, 0.3, 0.1), new_users),
        ),
        (
            "cuped-constant-post",
            adjusted(np.full(200, 5.0), rng.gamma(2.0, 20.0, 200)),
            adjusted(np.full(200, 5.0), rng.gamma(2.0, 20.0, 200)),
        ),
        (
            "huge-effect",
            moments(conversions(rng, 400_000, 0.05)),
            moments(conversions(rng, 400_000, 0.09)),
        ),
        ("same-data-in-both", same, same),
    ]


def balanced(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integers whose mean is exactly 0 (refund-adjusted balance changes, say)."""
    half = rng.integers(-40, 41, n // 2).astype(float)
    return np.concatenate([half, -half])


def shifted(spec: Spec, by: float) -> Spec:
    """The same sample mean with every value plus `by`."""
    n, total = spec["n"], spec["sum"]
    return {
        "type": "mean",
        "n": n,
        "sum": total + n * by,
        "sum_squares": spec["sum_squares"] + 2 * by * total + n * by * by,
    }


# --- The cases --------------------------------------------------------------------------------

ALPHAS = (0.05, 0.1, 0.01, 0.2)
TUNINGS = (500, 5_000, 50_000)


def prior(relative: bool, control: Spec, proper: bool, shift: float) -> Spec:
    """A prior on the lift's scale: ±30% relative; ±30% of the control's mean absolute."""
    if relative:
        return {"mean": 0.02 * shift, "variance": 0.09, "proper": proper}
    scale = abs(statistic(control).mean) or 1.0
    return {"mean": 0.02 * shift * scale, "variance": (0.3 * scale) ** 2, "proper": proper}


def comparison_cases() -> list[Case]:
    cases: list[Case] = []
    alphas = itertools.cycle(ALPHAS)
    tunings = itertools.cycle(TUNINGS)
    for i, (name, a, b) in enumerate(pairs()):
        for relative in (True, False):
            scale = "relative" if relative else "absolute"
            common = {"a": a, "b": b, "relative": relative}
            for alpha in (next(alphas), next(alphas)):
                cases.append(
                    Case(
                        f"ttest-{name}-{scale}-{alpha}", {"kind": "ttest", "alpha": alpha, **common}
                    )
                )
            for tuning in (next(tunings), next(tunings)):
                cases.append(
                    Case(
                        f"sequential-{name}-{scale}-{tuning}",
                        {"kind": "sequential", "alpha": next(alphas), "tuning": tuning, **common},
                    )
                )
            for proper, inverse in ((False, i % 2 == 1), (True, i % 2 == 0)):
                kind = f"{'proper' if proper else 'flat'}{'-inverse' if inverse else ''}"
                spec = {
                    "kind": "bayesian",
                    "alpha": next(alphas),
                    "inverse": inverse,
                    "prior": prior(relative, a, proper, float(i % 3 - 1)),
                    **common,
                }
                cases.append(Case(f"bayesian-{name}-{scale}-{kind}", spec))
    return cases + zero_control_mean_cases()


def zero_control_mean_cases() -> list[Case]:
    """Control mean exactly 0: gbstats refuses the absolute t-tests, ours computes them (checked
    against gbstats on both samples shifted by 100); the Bayesian test agrees unshifted."""
    rng = np.random.default_rng(7)
    cases: list[Case] = []
    for n in (40, 2_000):
        a = moments(balanced(rng, n))
        b = moments(rng.integers(-35, 46, n).astype(float))
        assert statistic(a).mean == 0
        base = {"a": a, "b": b, "relative": False, "alpha": 0.05}
        reference = {**base, "a": shifted(a, 100.0), "b": shifted(b, 100.0)}
        cases.append(
            Case(
                f"ttest-zero-control-mean-{n}",
                {"kind": "ttest", **base},
                {"kind": "ttest", **reference},
            )
        )
        sequential = {"kind": "sequential", "tuning": 5_000}
        cases.append(
            Case(
                f"sequential-zero-control-mean-{n}",
                {**sequential, **base},
                {**sequential, **reference},
            )
        )
        bayes = {"kind": "bayesian", "inverse": False, "prior": prior(False, b, True, 1.0)}
        cases.append(Case(f"bayesian-zero-control-mean-{n}", {**bayes, **base}))
        cases.append(
            Case(
                f"ttest-zero-control-mean-relative-{n}", {"kind": "ttest", **base, "relative": True}
            )
        )
    return cases


def srm_cases() -> list[Case]:
    rng = np.random.default_rng(11)
    splits = (
        [0.5, 0.5],
        [0.2, 0.8],
        [0.9, 0.1],
        [1 / 3, 1 / 3, 1 / 3],
        [0.5, 0.25, 0.25],
        [0.1, 0.2, 0.3, 0.4],
        [0.25, 0.25, 0.25, 0.25],
        [0.4, 0.0, 0.6],  # a variant switched off
    )
    cases: list[Case] = []
    for i, weights in enumerate(splits):
        for total in (40, 5_000, 300_000):
            # Half the experiments are healthy; the others lose some traffic of one variant.
            skew = np.array(weights) * (1 + (i % 2) * rng.uniform(0, 0.05, len(weights)))
            units = rng.multinomial(total, skew / skew.sum()).tolist()
            spec = {"kind": "srm", "units": units, "weights": weights}
            cases.append(Case(f"srm-{len(weights)}-variants-{i}-{total}", spec))
    cases.append(Case("srm-no-units", {"kind": "srm", "units": [0, 0], "weights": [0.5, 0.5]}))
    return cases


def correction_cases() -> list[Case]:
    rng = np.random.default_rng(13)
    cases: list[Case] = []
    for i in range(25):
        m = int(rng.integers(1, 25))
        p = rng.beta(0.4, 1.0, m)  # many small p-values, as when some metrics really move
        if i % 3 == 0:
            p = np.round(p, 2)  # ties, as p-values reported to two decimals have
        if i % 4 == 1 and m > 2:
            p[: m // 2] = p[0]  # exact ties
        if i % 5 == 2:
            p[0], p[-1] = 0.0, 1.0
        for kind in ("holm", "bh"):
            cases.append(Case(f"{kind}-{m}-{i}", {"kind": kind, "p_values": p.tolist()}))
    return cases


CASES = comparison_cases() + srm_cases() + correction_cases()
# The zero-control-mean t-tests as they are: what gbstats says of them unshifted.
UNSHIFTED = [
    Case(f"unshifted-{case.id}", case.ours) for case in CASES if case.reference is not case.ours
]


# --- The reference, once ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, Any]]:
    """gbstats' and statsmodels' figures for every case, from one run of figures.py."""
    if not REFERENCE_STAMP.exists():
        unavailable(
            f"the gbstats reference venv is not built at {REFERENCE_PYTHON.parent.parent} "
            "(run `make reference`)"
        )
    cases = CASES + UNSHIFTED
    done = subprocess.run(
        [str(REFERENCE_PYTHON), str(FIGURES)],
        input=json.dumps([case.reference for case in cases]),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"figures.py failed:\n{done.stderr[-4000:]}")
    figures = json.loads(done.stdout)
    return {case.id: result for case, result in zip(cases, figures, strict=True)}


# --- The comparisons --------------------------------------------------------------------------


def close(ours: float, theirs: float) -> bool:
    """abs 1e-6, or 1e-9 relative for large values (a lift of thousands of percent)."""
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-6)


def compute(spec: Spec) -> Any:
    kind = spec["kind"]
    if kind == "srm":
        return srm_p_value(spec["units"], spec["weights"])
    if kind in ("holm", "bh"):
        correct: Callable[[list[float]], list[float]] = (
            holm if kind == "holm" else benjamini_hochberg
        )
        return correct(spec["p_values"])
    a, b = statistic(spec["a"]), statistic(spec["b"])
    common = {"alpha": spec["alpha"], "relative": spec["relative"]}
    if kind == "ttest":
        return ttest(a, b, **common)
    if kind == "sequential":
        return sequential_ttest(a, b, tuning=spec["tuning"], **common)
    return bayesian_test(a, b, prior=Prior(**spec["prior"]), inverse=spec["inverse"], **common)


FIELDS = {
    "ttest": ("estimate", "ci_low", "ci_high", "stddev", "p_value"),
    "sequential": ("estimate", "ci_low", "ci_high", "stddev", "p_value"),
    "bayesian": (
        "estimate",
        "stddev",
        "ci_low",
        "ci_high",
        "chance_to_win",
        "risk_control",
        "risk_variant",
    ),
}


class TestEveryFigureMatchesTheReference:
    @pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
    def test_our_figures_equal_gbstats_and_statsmodels(
        self, case: Case, reference: dict[str, dict[str, Any]]
    ) -> None:
        theirs = reference[case.id]
        ours = compute(case.ours)
        kind = case.ours["kind"]
        if kind == "srm":
            assert close(ours, theirs["p_value"]), (ours, theirs)
            return
        if kind in ("holm", "bh"):
            assert len(ours) == len(theirs["p_values"])
            assert all(map(close, ours, theirs["p_values"])), (ours, theirs)
            return
        # Where gbstats refuses, we give a reason (and its neutral figures), never an exception.
        refused = (ours.reason is not None, theirs["error"] is not None)
        assert refused[0] == refused[1], (ours.reason, theirs["error"])
        mismatched = {
            name: (getattr(ours, name), theirs[name])
            for name in FIELDS[kind]
            if not close(getattr(ours, name), theirs[name])
        }
        assert not mismatched, mismatched

    def test_the_cases_are_many_and_include_refusals(self) -> None:
        counts = Counter(case.ours["kind"] for case in CASES)
        assert len(CASES) >= 600
        assert min(counts.values()) >= 25, counts
        refused = [case for case in CASES if "a" in case.ours and compute(case.ours).reason]
        assert len(refused) >= 30


class TestTheIntendedDifference:
    def test_gbstats_refuses_an_absolute_difference_from_a_zero_control_mean_and_we_do_not(
        self, reference: dict[str, dict[str, Any]]
    ) -> None:
        assert len(UNSHIFTED) == 4
        for case in UNSHIFTED:
            assert reference[case.id]["error"] == "ZERO_NEGATIVE_BASELINE_VARIATION"
            assert compute(case.ours).reason is None
