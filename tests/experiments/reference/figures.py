"""Reference figures from gbstats 0.8.0 and statsmodels, for ../test_gbstats_parity.py.

Runs with .venv-reference/bin/python (make_venv.sh builds it: gbstats needs numpy<2), never with
the project's venv, and imports nothing from tenure: its figures are the other side of the check.

Reads a JSON list of cases on stdin and writes a JSON list of results on stdout, in the same order.
A case is {"kind": ..., ...}:

- "ttest", "sequential", "bayesian": "a" and "b" are statistics, each
  {"type": "proportion", "n", "sum"} | {"type": "mean", "n", "sum", "sum_squares"} |
  {"type": "ratio", "n", "numerator", "denominator", "sum_of_products"} |
  {"type": "adjusted", "n", "post", "pre", "sum_of_products"}, with "alpha" and "relative";
  "sequential" adds "tuning", "bayesian" adds "prior" {"mean", "variance", "proper"} and "inverse".
- "srm": "units" and "weights".
- "holm", "bh": "p_values".
"""

from __future__ import annotations

import json
import sys
from typing import Any

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm
from statsmodels.stats.multitest import multipletests


def statistic(spec: dict[str, Any]) -> Any:
    """A fresh gbstats statistic (gbstats sets CUPED's theta in place, so never reuse one)."""
    kind = spec["type"]
    if kind == "proportion":
        return ProportionStatistic(n=spec["n"], sum=spec["sum"])
    if kind == "mean":
        return SampleMeanStatistic(n=spec["n"], sum=spec["sum"], sum_squares=spec["sum_squares"])
    if kind == "ratio":
        return RatioStatistic(
            n=spec["n"],
            m_statistic=statistic(spec["numerator"]),
            d_statistic=statistic(spec["denominator"]),
            m_d_sum_of_products=spec["sum_of_products"],
        )
    if kind == "adjusted":
        return RegressionAdjustedStatistic(
            n=spec["n"],
            post_statistic=statistic(spec["post"]),
            pre_statistic=statistic(spec["pre"]),
            post_pre_sum_of_products=spec["sum_of_products"],
            theta=0,
        )
    raise ValueError(f"unknown statistic type {kind!r}")


def frequentist(case: dict[str, Any]) -> dict[str, Any]:
    difference = "relative" if case["relative"] else "absolute"
    a, b = statistic(case["a"]), statistic(case["b"])
    if case["kind"] == "sequential":
        config = SequentialConfig(
            alpha=case["alpha"],
            difference_type=difference,
            sequential_tuning_parameter=case["tuning"],
        )
        result = SequentialTwoSidedTTest(a, b, config).compute_result()
    else:
        config = FrequentistConfig(alpha=case["alpha"], difference_type=difference)
        result = TwoSidedTTest(a, b, config).compute_result()
    return {
        "estimate": float(result.expected),
        "ci_low": float(result.ci[0]),
        "ci_high": float(result.ci[1]),
        "stddev": float(result.uplift.stddev),
        "p_value": float(result.p_value),
        "error": result.error_message,
    }


def bayesian(case: dict[str, Any]) -> dict[str, Any]:
    difference = "relative" if case["relative"] else "absolute"
    config = EffectBayesianConfig(
        alpha=case["alpha"],
        difference_type=difference,
        inverse=case["inverse"],
        prior_effect=GaussianPrior(**case["prior"]),
        prior_type=difference,  # the prior is on the same scale as the lift: no rescaling
    )
    result = EffectBayesianABTest(statistic(case["a"]), statistic(case["b"]), config)
    out = result.compute_result()
    return {
        "estimate": float(out.expected),
        "stddev": float(out.uplift.stddev),
        "ci_low": float(out.ci[0]),
        "ci_high": float(out.ci[1]),
        "chance_to_win": float(out.chance_to_win),
        "risk_control": float(out.risk[0]),
        "risk_variant": float(out.risk[1]),
        "error": out.error_message,
    }


def figures(case: dict[str, Any]) -> dict[str, Any]:
    kind = case["kind"]
    if kind in ("ttest", "sequential"):
        return frequentist(case)
    if kind == "bayesian":
        return bayesian(case)
    if kind == "srm":
        return {"p_value": float(check_srm(case["units"], case["weights"]))}
    if kind in ("holm", "bh"):
        method = "holm" if kind == "holm" else "fdr_bh"
        adjusted = multipletests(case["p_values"], alpha=0.05, method=method)[1]
        return {"p_values": [float(p) for p in adjusted]}
    raise ValueError(f"unknown case kind {kind!r}")


def main() -> None:
    cases = json.load(sys.stdin)
    json.dump([figures(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
