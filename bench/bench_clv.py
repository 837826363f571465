"""Fit time of Tenure's CLV models against lifetimes 0.11.3, on CDNOW and simulated millions."""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import data_dir, table, warn_if_busy, write_results

from tenure.predict.clv import (
    BGNBD,
    BGNBDParams,
    GammaGamma,
    ParetoNBD,
    simulate_bgnbd,
    summary_from_transactions,
)

TRUE_PARAMS = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
TARGET_RATIO = 10.0
TARGET_10M_S = 20.0
NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "pnbd": ("r", "alpha", "s", "beta")}

try:
    import lifetimes
except ImportError:
    lifetimes = None


def cdnow() -> pd.DataFrame:
    """All 23,570 CDNOW customers, 39-week calibration, weeks, one transaction per day."""
    raw = pd.read_csv(data_dir() / "cdnow_master.csv", dtype={"customer_id": str, "date": str})
    return summary_from_transactions(
        raw["customer_id"],
        pd.to_datetime(raw["date"], format="%Y%m%d"),
        raw["dollar_value"],
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
    )


def simulated(n: int, seed: int) -> pd.DataFrame:
    """A BG/NBD cohort with CDNOW-like parameters, acquired over a year, times in whole days."""
    return simulate_bgnbd(n, TRUE_PARAMS, max_age=52.0, resolution=1 / 7, seed=seed)


def best_of(repeat: int, fit: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of `repeat` fits and what the last one returned."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - started)
    return min(times), result


def ours(model: str, data: pd.DataFrame) -> tuple[dict[str, float], int]:
    """Tenure from raw columns: validation, compression of identical rows, fit; rows fitted."""
    if model == "gg":
        spend = GammaGamma().fit(data["frequency"], data["monetary_value"])
        return spend.params_.as_dict(), len(data)
    cls = BGNBD if model == "bgnbd" else ParetoNBD
    fitted = cls().fit(data["frequency"], data["recency"], data["T"])
    if not fitted.converged_:
        print(f"  warning: Tenure {model} did not converge: {fitted.fit_message_}")
    return fitted.params_.as_dict(), fitted.n_rows_


def theirs(model: str, data: pd.DataFrame, compressed: bool = False) -> dict[str, float]:
    """lifetimes 0.11.3 as a user calls it (or on rows we compressed, with weights)."""
    assert lifetimes is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "gg":
            fitter = lifetimes.GammaGammaFitter().fit(data["frequency"], data["monetary_value"])
            p = fitter.params_
            return {"p": p["p"], "q": p["q"], "gamma": p["v"]}
        cls = lifetimes.BetaGeoFitter if model == "bgnbd" else lifetimes.ParetoNBDFitter
        if compressed:
            rows = data[["frequency", "recency", "T"]].value_counts().reset_index(name="n")
            fitter = cls().fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["n"])
        else:
            fitter = cls().fit(data["frequency"], data["recency"], data["T"])
    return {k: float(v) for k, v in fitter.params_.items()}


def max_relative_difference(a: dict[str, float], b: dict[str, float]) -> float:
    """Largest |a/b - 1| over the parameters: below 5e-4 they agree to 3 significant digits."""
    return max(abs(a[k] / b[k] - 1) for k in a)


def compare(
    label: str, model: str, data: pd.DataFrame, repeat: int, lifetimes_repeat: int
) -> dict[str, Any]:
    """Time one model on one data set with both libraries; check the parameters agree."""
    print(f"{label}: {model} on {len(data):,} customers ...", flush=True)
    ours_s, (ours_params, rows) = best_of(repeat, lambda: ours(model, data))
    row: dict[str, Any] = {
        "data": label,
        "model": model,
        "customers": len(data),
        "distinct_rows": rows,
        "tenure_s": round(ours_s, 3),
        "tenure_params": ours_params,
    }
    if lifetimes is None or lifetimes_repeat == 0:
        return row
    try:
        theirs_s, theirs_params = best_of(lifetimes_repeat, lambda: theirs(model, data))
    except Exception as exc:  # lifetimes raises ConvergenceError and others: record, go on
        row["lifetimes_error"] = f"{type(exc).__name__}: {exc}".strip()[:300]
        return row
    row.update(
        lifetimes_s=round(theirs_s, 3),
        lifetimes_params=theirs_params,
        ratio=round(theirs_s / ours_s, 1),
        max_param_rel_diff=max_relative_difference(ours_params, theirs_params),
    )
    return row


def main() -> None:
    """Run the comparison and print a table; results go to bench/results/clv-*.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,5000000", help="simulated sizes vs lifetimes")
    parser.add_argument("--big", type=int, default=10_000_000, help="BG/NBD alone (0: skip)")
    parser.add_argument("--repeat", type=int, default=5, help="Tenure fits per case (best kept)")
    parser.add_argument("--no-lifetimes", action="store_true", help="Tenure timings only")
    parser.add_argument(
        "--weighted", action="store_true", help="also time lifetimes on rows Tenure compressed"
    )
    args = parser.parse_args()
    if lifetimes is None:
        print(
            "lifetimes is not importable: skipping the comparison (pip install lifetimes==0.11.3)"
        )
    elif args.no_lifetimes:
        print("--no-lifetimes: Tenure timings only")
    lt = 0 if args.no_lifetimes else 1
    warn_if_busy()

    rows = []
    customers = cdnow()
    rows.append(compare("CDNOW", "bgnbd", customers, args.repeat, 3 * lt))
    rows.append(compare("CDNOW", "pnbd", customers, args.repeat, lt))
    # Both libraries get the 9,450 customers with repeat purchases and positive spend.
    spenders = customers[(customers["frequency"] > 0) & (customers["monetary_value"] > 0)]
    rows.append(compare("CDNOW", "gg", spenders, args.repeat, 3 * lt))
    for n in (int(s) for s in args.sizes.split(",") if s):
        data = simulated(n, seed=n)
        rows.append(compare(f"sim {n:,}", "bgnbd", data, args.repeat, lt))
        if args.weighted and lt:
            started = time.perf_counter()
            theirs("bgnbd", data, compressed=True)
            rows[-1]["lifetimes_precompressed_s"] = round(time.perf_counter() - started, 3)
        del data
    if args.big:
        data = simulated(args.big, seed=args.big)
        rows.append(compare(f"sim {args.big:,}", "bgnbd", data, 1, 0))
        rows[-1]["target_s"] = TARGET_10M_S
        del data

    print()
    print(
        table(
            [
                "data",
                "model",
                "customers",
                "distinct rows",
                "Tenure s",
                "lifetimes s",
                "ratio",
                "params rel diff",
                "lifetimes on our rows s",
            ],
            [
                [
                    r["data"],
                    r["model"],
                    r["customers"],
                    r["distinct_rows"],
                    r["tenure_s"],
                    r.get("lifetimes_s", r.get("lifetimes_error", "-")),
                    f"{r['ratio']:.1f}x" if "ratio" in r else "-",
                    f"{r['max_param_rel_diff']:.1e}" if "max_param_rel_diff" in r else "-",
                    r.get("lifetimes_precompressed_s", "-"),
                ]
                for r in rows
            ],
        )
    )
    for r in rows:
        names = NAMES.get(r["model"], ("p", "q", "gamma"))
        ours_text = ", ".join(f"{k}={r['tenure_params'][k]:.4g}" for k in names)
        print(f"{r['data']:>16} {r['model']:>6}  Tenure    {ours_text}")
        if "lifetimes_params" in r:
            theirs_text = ", ".join(f"{k}={r['lifetimes_params'][k]:.4g}" for k in names)
            print(f"{'':>16} {'':>6}  lifetimes {theirs_text}")
    slow = [r for r in rows if "ratio" in r and r["ratio"] < TARGET_RATIO]
    off = [r for r in rows if r.get("max_param_rel_diff", 0) >= 5e-4]
    big = [r for r in rows if "target_s" in r and r["tenure_s"] >= r["target_s"]]
    verdict = "all targets met" if not (slow or off or big) else "TARGET MISSED"
    if not any("ratio" in r for r in rows):
        verdict = "no lifetimes comparison" if not big else "TARGET MISSED"
    print(f"\n{verdict}: ratio >= {TARGET_RATIO}x, parameters within 5e-4, 10M < {TARGET_10M_S} s")
    path = write_results(
        "clv",
        {
            "lifetimes": getattr(lifetimes, "__version__", None),
            "numpy": np.__version__,
            "rows": rows,
            "verdict": verdict,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
