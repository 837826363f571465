"""An experiment's results: exposures and metrics from the warehouse, statistics per variant.

Every variant is compared with the first (the control) on every metric: a Welch t-test on the
lift (or its always-valid sequential version when the document asks), a Bayesian posterior
(chance to win, risk), CUPED when the metric has a pre-exposure value, and Holm or
Benjamini–Hochberg across the goal metrics × variants. A sample-ratio mismatch flags the
whole result. The verdict says, in the reader's language, what an operator can conclude.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from tenure.analytics.currency import currency_scope
from tenure.experiments import metrics as warehouse_metrics
from tenure.experiments import operational
from tenure.experiments.errors import NoExposures, UnknownEvent, UnknownVariant
from tenure.experiments.schemas import ExperimentResults, MetricResult, VariantMetric
from tenure.experiments.spec import OPERATIONAL, Experiment, Metric
from tenure.experiments.stats.bayesian import Prior, bayesian_test
from tenure.experiments.stats.corrections import CORRECTIONS
from tenure.experiments.stats.frequentist import sequential_ttest, ttest
from tenure.experiments.stats.srm import SRM_THRESHOLD, srm_p_value
from tenure.experiments.stats.summaries import (
    Adjusted,
    Proportion,
    Ratio,
    SampleMean,
    Statistic,
    stddev,
)
from tenure.experiments.verdict import verdict
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


def statistic(metric: Metric, sums: warehouse_metrics.Sums) -> Statistic:
    """The sums as the statistic the tests take."""
    n = sums.users

    def moments(total: float, squares: float) -> Proportion | SampleMean:
        return Proportion(n, total) if metric.binary else SampleMean(n, total, squares)

    main = moments(sums.main_sum, sums.main_sum_squares)
    if sums.denominator_sum is not None:  # ratio metrics are never binary: main is a mean
        assert sums.denominator_sum_squares is not None
        assert sums.main_denominator_sum_product is not None
        denominator = SampleMean(n, sums.denominator_sum, sums.denominator_sum_squares)
        return Ratio(n, main, denominator, sums.main_denominator_sum_product)
    if sums.covariate_sum is not None:
        assert sums.covariate_sum_squares is not None
        assert sums.main_covariate_sum_product is not None
        pre = moments(sums.covariate_sum, sums.covariate_sum_squares)
        return Adjusted(n, main, pre, sums.main_covariate_sum_product)
    return main


def _exposures(
    con: BaseBackend, experiment: Experiment, since: datetime | None, until: datetime | None
) -> ir.Table:
    """The experiment's exposures per unit, as its analysis settings count them."""
    known = [v.key for v in experiment.variants]
    server_only = experiment.analysis.exposures == "server"
    return warehouse_metrics.exposures(con, experiment.key, since, until, known, server_only)


def _exposed(
    con: BaseBackend, experiment: Experiment, since: datetime | None, until: datetime | None
) -> tuple[ir.Table, dict[str, int], int, tuple[int, int] | None]:
    """The exposed units (cached on the backend: `release()` it), the units per variant, how
    many units were seen in more than one variant, and the first and last first exposure."""
    known = [v.key for v in experiment.variants]
    exposed = _exposures(con, experiment, since, until).cache()
    mixed = exposed.variant != exposed.last_variant
    counts = (
        exposed.group_by(variant=ibis.ifelse(mixed, ibis.null("string"), exposed.variant))
        .aggregate(n=exposed.count(), lo=exposed.first_us.min(), hi=exposed.first_us.max())
        .to_pandas()
    )
    per_variant = dict.fromkeys(known, 0)
    multiple = 0
    for name, n in zip(counts["variant"], counts["n"], strict=True):
        if name is None or name != name:  # null: the mixed units (NaN in pandas)
            multiple = int(n)
        elif name in per_variant:
            per_variant[name] = int(n)
    span = (int(counts["lo"].min()), int(counts["hi"].max())) if len(counts) else None
    return exposed, per_variant, multiple, span


def _single(exposed: ir.Table, experiment: Experiment) -> ir.Table:
    """The units seen in one known variant only."""
    keep = (exposed.variant == exposed.last_variant) & exposed.variant.isin(
        [v.key for v in experiment.variants]
    )
    return exposed.filter(keep).select("unit", "variant", "first_us")


def _events_named(experiment: Experiment) -> list[str]:
    found = (*experiment.resolved_metrics(), *experiment.resolved_guardrails())
    return [m.event for m in found if m.event is not None]


def _check_events(con: BaseBackend, experiment: Experiment) -> None:
    wanted = _events_named(experiment)
    missing = sorted(set(wanted) - warehouse_metrics.event_names(con, wanted))
    if missing:
        raise UnknownEvent(key=experiment.key, event=missing[0])


def check_events(warehouse: Warehouse, experiment: Experiment) -> None:
    """UnknownEvent when a metric counts an event the warehouse has never seen."""
    if not _events_named(experiment):
        return
    with warehouse.reader() as con:
        _check_events(con, experiment)


def _compare(
    experiment: Experiment, metric: Metric, stats: dict[str, Statistic], units: dict[str, int]
) -> list[VariantMetric]:
    settings = experiment.analysis
    relative = settings.difference == "relative"
    prior = (
        Prior(settings.prior_mean, settings.prior_stddev**2, proper=True)
        if settings.prior_stddev is not None
        else Prior()
    )
    control_key = experiment.variants[0].key
    control = stats.get(control_key) or SampleMean(0, 0.0, 0.0)
    rows: list[VariantMetric] = []
    for variant in experiment.variants:
        mine = stats.get(variant.key) or SampleMean(0, 0.0, 0.0)
        plain = mine.post if isinstance(mine, Adjusted) else mine
        row = VariantMetric(variant=variant.key, units=units.get(variant.key, 0),
                            mean=float(mine.unadjusted_mean), stddev=stddev(plain))  # fmt: skip
        if variant.key != control_key:
            if settings.sequential:
                test = sequential_ttest(control, mine, alpha=settings.alpha, relative=relative,
                                        tuning=settings.sequential_tuning)  # fmt: skip
            else:
                test = ttest(control, mine, alpha=settings.alpha, relative=relative)
            post = bayesian_test(control, mine, alpha=settings.alpha, relative=relative,
                                 prior=prior, inverse=metric.inverse)  # fmt: skip
            if test.reason is not None:
                row.reason = test.reason
            else:
                row.lift, row.ci_low, row.ci_high = test.estimate, test.ci_low, test.ci_high
                row.p_value = test.p_value
                row.chance_to_win = post.chance_to_win
                row.risk = post.risk_variant
        rows.append(row)
    return rows


def _correct(results: list[MetricResult], method: str, alpha: float) -> None:
    goal = [v for m in results if not m.guardrail for v in m.variants if v.p_value is not None]
    if method != "none" and goal:
        adjusted = CORRECTIONS[method]([v.p_value for v in goal if v.p_value is not None])
        for row, p in zip(goal, adjusted, strict=True):
            row.adjusted_p_value = p
    for m in results:
        for v in m.variants:
            if v.p_value is None:
                continue
            p = v.adjusted_p_value if v.adjusted_p_value is not None else v.p_value
            v.significant = p < alpha


def _sums(
    con: BaseBackend,
    units: ir.Table,
    every: list[Metric],
    currency: str | None,
    cuped_days: int,
    database: Database | None,
    span: tuple[int, int] | None,
) -> list[list[warehouse_metrics.Sums]]:
    """Every metric's per-variant sums: the warehouse's in one pass per source, the operational
    database's from the units brought over once."""
    in_warehouse = [m for m in every if m.kind not in OPERATIONAL]
    found = dict(
        zip(
            (m.key for m in in_warehouse),
            warehouse_metrics.statistics(con, units, in_warehouse, currency, cuped_days, span),
            strict=True,
        )
    )
    elsewhere = [m for m in every if m.kind in OPERATIONAL]
    if elsewhere:
        if database is None:
            raise ValueError("points and coupon metrics need the operational database")
        frame = units.to_pandas()
        for metric in elsewhere:
            found[metric.key] = operational.statistics(
                database, frame, metric, currency, cuped_days
            )
    return [found[m.key] for m in every]


def analyse(
    warehouse: Warehouse,
    experiment: Experiment,
    status: str,
    since: datetime | None,
    until: datetime | None,
    locale: str | None = None,
    database: Database | None = None,
) -> ExperimentResults:
    """The results of `experiment` over exposures in [since, until); `database` is needed
    for the metrics kept there (points redeemed, coupon cost)."""
    settings = experiment.analysis
    tagged = [(m, False) for m in experiment.resolved_metrics()]
    tagged += [(m, True) for m in experiment.resolved_guardrails()]
    with warehouse.reader() as con:
        _check_events(con, experiment)
        cached, variant_units, multiple, span = _exposed(con, experiment, since, until)
        try:
            if sum(variant_units.values()) == 0:
                raise NoExposures(key=experiment.key)
            scope = currency_scope(con, None)
            every = [m for m, _ in tagged]
            units = _single(cached, experiment)
            all_sums = _sums(con, units, every, scope.currency, settings.cuped_days, database, span)
        finally:
            cached.release()  # the backend's temporary table, while its connection is open
    computed: list[MetricResult] = []
    for (metric, guardrail), sums in zip(tagged, all_sums, strict=True):
        stats = {s.variant: statistic(metric, s) for s in sums}
        counts = {s.variant: s.users for s in sums}
        computed.append(MetricResult(
            key=metric.key, kind=metric.kind, guardrail=guardrail, inverse=metric.inverse,
            cuped=any(isinstance(s, Adjusted) for s in stats.values()),
            variants=_compare(experiment, metric, stats, counts),
        ))  # fmt: skip
    weights = [v.weight for v in experiment.variants]
    srm = srm_p_value(list(variant_units.values()), weights)
    _correct(computed, settings.correction, settings.alpha)
    code, text = verdict(experiment, computed, srm < SRM_THRESHOLD, srm, locale)
    return ExperimentResults(
        key=experiment.key, status=status,
        engine="sequential" if settings.sequential else "frequentist",
        difference=settings.difference, alpha=settings.alpha, correction=settings.correction,
        currency=scope.currency, units=variant_units, multiple_exposures=multiple,
        srm_p_value=srm if math.isfinite(srm) else 1.0, srm_flag=srm < SRM_THRESHOLD,
        metrics=computed, verdict=text, verdict_code=code,
    )  # fmt: skip


def exposed_units(
    warehouse: Warehouse,
    experiment: Experiment,
    since: datetime | None,
    until: datetime | None,
    variant: str | None = None,
) -> list[tuple[str, bool, datetime]]:
    """(unit, treated, first exposure) of the units seen in the control or in `variant` (the
    second variant when None): what an uplift model learns from."""
    keys = [v.key for v in experiment.variants]
    chosen = variant or keys[1]
    if chosen not in keys[1:]:
        raise UnknownVariant(key=experiment.key, variant=chosen, variants=", ".join(keys[1:]))
    with warehouse.reader() as con:
        units = _single(_exposures(con, experiment, since, until), experiment)
        frame = units.filter(units.variant.isin([keys[0], chosen])).to_pandas()
    return [
        (str(u), v == chosen, datetime.fromtimestamp(us / 1e6, tz=UTC))
        for u, v, us in zip(frame["unit"], frame["variant"], frame["first_us"], strict=True)
    ]
