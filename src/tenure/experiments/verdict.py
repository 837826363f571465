"""A plain-language verdict on the primary metric (the first), with the guardrails' warning.

The order of what matters: a sample-ratio mismatch voids everything; then whether the best
variant significantly beats (or loses to) the control on the primary metric, with the
correction applied; a winner that harms a guardrail is called out. Messages come from the
catalogue (`verdict.experiment.*`), in the reader's locale.
"""

from __future__ import annotations

from collections.abc import Sequence

from tenure.experiments.schemas import MetricResult, VariantMetric
from tenure.experiments.spec import Experiment
from tenure.i18n import translate


def _better(row: VariantMetric, inverse: bool) -> bool:
    return row.lift is not None and (row.lift < 0 if inverse else row.lift > 0)


def _lift(value: float | None, relative: bool) -> str:
    if value is None:
        return "?"
    return f"{value:+.1%}" if relative else f"{value:+.4g}"


def _facts(row: VariantMetric, metric: MetricResult, relative: bool) -> dict[str, str]:
    return {
        "variant": row.variant, "metric": metric.key, "lift": _lift(row.lift, relative),
        "low": _lift(row.ci_low, relative), "high": _lift(row.ci_high, relative),
        "chance": f"{(row.chance_to_win or 0):.0%}",
    }  # fmt: skip


def _harmed(metrics: Sequence[MetricResult], variant: str) -> MetricResult | None:
    for metric in metrics:
        if not metric.guardrail:
            continue
        for row in metric.variants:
            if row.variant == variant and row.significant and not _better(row, metric.inverse):
                return metric
    return None


def verdict(
    experiment: Experiment,
    metrics: Sequence[MetricResult],
    srm_flag: bool,
    srm: float,
    locale: str | None,
) -> tuple[str, str]:
    """(code, text) of the verdict."""
    if srm_flag:
        return "srm", translate("verdict.experiment.srm", locale=locale, p=f"{srm:.2g}")
    primary = metrics[0]
    relative = experiment.analysis.difference == "relative"
    compared = [r for r in primary.variants[1:] if r.reason is None]
    if not compared:
        reason = next((r.reason for r in primary.variants[1:] if r.reason), "no_units")
        return "no_data", translate(
            "verdict.experiment.no_data", locale=locale, metric=primary.key,
            reason=translate(f"verdict.reason.{reason}", locale=locale),
        )  # fmt: skip
    winners = [r for r in compared if r.significant and _better(r, primary.inverse)]
    if winners:
        best = max(winners, key=lambda r: r.chance_to_win or 0)
        facts = _facts(best, primary, relative)
        harmed = _harmed(metrics, best.variant)
        if harmed is not None:
            return "winner_with_harm", translate(
                "verdict.experiment.winner_with_harm", locale=locale, guardrail=harmed.key, **facts
            )
        return "winner", translate("verdict.experiment.winner", locale=locale, **facts)
    losers = [r for r in compared if r.significant]
    if losers and len(losers) == len(compared):
        worst = losers[0]
        return "loser", translate(
            "verdict.experiment.loser", locale=locale, **_facts(worst, primary, relative)
        )
    units = sum(r.units for r in primary.variants)
    return "inconclusive", translate(
        "verdict.experiment.inconclusive", locale=locale, metric=primary.key, units=units
    )
