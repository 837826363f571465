"""`tenure experiments …`: save and run A/B experiments, read their results, plan their size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Column, Table

from tenure.cli import uplift
from tenure.cli.context import console, emit_json, friendly, services
from tenure.cli.files import read_json_or_yaml
from tenure.errors import BadRequest
from tenure.experiments.analysis import analyse, check_events
from tenure.experiments.errors import InvalidPowerInput
from tenure.experiments.schemas import ExperimentResults, PowerRequest
from tenure.experiments.service import documents
from tenure.experiments.service.assign import assign_units
from tenure.experiments.service.power import plan
from tenure.i18n import translate
from tenure.kit.time import utc_now

app = typer.Typer(help="A/B experiments: save, start, stop, results, power; uplift targeting.")
JSON = typer.Option(False, "--json", help="Print JSON.")
FILE = typer.Argument(..., help="The experiment document (JSON or YAML).", readable=False)
app.add_typer(uplift.app, name="uplift")


def _summary(row: Any) -> dict[str, Any]:
    return {
        "key": row.key, "name": row.name, "status": row.status, "version": row.version,
        "variants": [v["key"] for v in row.document["variants"]],
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "stopped_at": row.stopped_at.isoformat() if row.stopped_at else None,
    }  # fmt: skip


def _save(document: Any, key: str | None) -> None:
    svc = services()
    experiment = svc.database.read(lambda s: documents.validate(s, document))
    check_events(svc.warehouse, experiment)
    now = utc_now()
    if key is None:
        row = svc.database.write(lambda s: documents.create(s, document, now))
    else:
        row = svc.database.write(lambda s: documents.update(s, key, document, now))
    console.print(translate("cli.experiments.saved", experiment=row.key, version=row.version))


@app.command("create")
@friendly
def create(path: Path = FILE) -> None:
    """Save a new experiment as a draft (start it with `tenure experiments start KEY`)."""
    _save(read_json_or_yaml(path), None)


@app.command("update")
@friendly
def update(key: str, path: Path = FILE) -> None:
    """Save a new version; while running, only weights, new variants, traffic, metrics and
    analysis settings may change."""
    _save(read_json_or_yaml(path), key)


@app.command("list")
@friendly
def listing(
    status: str | None = typer.Option(None, "--status", help="draft, running or stopped."),
    as_json: bool = JSON,
) -> None:
    """Experiments, newest first."""
    if status is not None and status not in ("draft", "running", "stopped"):
        raise BadRequest(code="cli_experiment_status", given=status)
    rows = [_summary(r) for r in services().database.read(lambda s: documents.listing(s, status))]
    if as_json:
        emit_json(rows)
        return
    table = Table("key", "name", "status", "version", "variants", "started")
    for r in rows:
        table.add_row(r["key"], r["name"], r["status"], str(r["version"]),
                      ", ".join(r["variants"]), r["started_at"] or "")  # fmt: skip
    console.print(table)


@app.command("show")
@friendly
def show(key: str) -> None:
    """The experiment's state and document, as JSON."""
    row = services().database.read(lambda s: documents.row(s, key))
    emit_json({**_summary(row), "document": row.document})


def _move(key: str, action: str) -> None:
    now = utc_now()
    work = documents.start if action == "start" else documents.stop
    row = services().database.write(lambda s: work(s, key, now))
    console.print(translate("cli.experiments.status", experiment=row.key, status=row.status))


@app.command("start")
@friendly
def start(key: str) -> None:
    """Start assigning units to variants."""
    _move(key, "start")


@app.command("stop")
@friendly
def stop(key: str) -> None:
    """Stop assigning; the results stay."""
    _move(key, "stop")


@app.command("assign")
@friendly
def assign(
    key: str,
    user: str | None = typer.Option(None, "--user", help="The user id."),
    anonymous: str | None = typer.Option(None, "--anonymous", help="The anonymous id."),
    record: bool = typer.Option(False, "--record/--no-record", help="Record the exposure."),
) -> None:
    """Which variant a unit gets (what `POST /v1/experiments/KEY/assign` answers)."""
    if not user and not anonymous:
        raise BadRequest(code="cli_experiment_unit")
    now = utc_now()
    found = services().database.write(
        lambda s: assign_units(s, [key], user, anonymous, {}, now, record)
    )[0]
    emit_json({"experiment": found.experiment, "unit_id": found.unit_id,
               "variant": found.variant, "reason": found.reason})  # fmt: skip


def _percent(value: float | None, relative: bool) -> str:
    if value is None:
        return ""
    return f"{value:+.1%}" if relative else f"{value:+.3g}"


def _table(result: ExperimentResults) -> Table:
    """Narrow enough for 80 columns: p is the corrected one where a correction applies, and a
    star marks a significant lift."""
    relative = result.difference == "relative"
    table = Table("metric", "variant", "units", "mean", "lift", "p", "P(win)")
    table.columns.insert(5, Column("interval", no_wrap=True, min_width=13))
    for metric in result.metrics:
        name = metric.key + (" ↓" if metric.inverse else "") + (" (g)" if metric.guardrail else "")
        for row in metric.variants:
            interval = (
                f"{_percent(row.ci_low, relative)}…{_percent(row.ci_high, relative)}"
                if row.ci_low is not None
                else (row.reason or "").replace("_", " ")
            )
            p = row.adjusted_p_value if row.adjusted_p_value is not None else row.p_value
            table.add_row(
                name, row.variant, f"{row.units:,}", f"{row.mean:.4g}",
                _percent(row.lift, relative) + (" ★" if row.significant else ""), interval,
                "" if p is None else f"{p:.3g}",
                "" if row.chance_to_win is None else f"{row.chance_to_win:.0%}",
            )  # fmt: skip
            name = ""
    return table


@app.command("results")
@friendly
def results(
    key: str,
    locale: str | None = typer.Option(None, "--locale", help="Verdict language: en or zh-CN."),
    as_json: bool = JSON,
) -> None:
    """Every metric's lift with its interval, p-value and chance to win, the SRM check and a
    verdict."""
    svc = services()
    row = svc.database.read(lambda s: documents.row(s, key))
    result = analyse(
        svc.warehouse, documents.spec_of(row), row.status, row.phase_started_at,
        row.stopped_at, locale, svc.database,
    ).model_copy(update={"phase": row.phase})  # fmt: skip
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    console.print(_table(result))
    console.print(translate("cli.experiments.srm", locale=locale, p=f"{result.srm_p_value:.3g}",
                            flag="⚠" if result.srm_flag else "✓",
                            multiple=result.multiple_exposures))  # fmt: skip
    console.print(result.verdict, markup=False)


@app.command("power")
@friendly
def power(
    baseline: float = typer.Option(..., "--baseline", help="Control's mean (a rate for 0/1)."),
    lift: float = typer.Option(..., "--lift", help="Relative lift to detect: 0.05 is +5 %."),
    stddev: float | None = typer.Option(None, "--stddev", help="Unit std. dev.; none: a rate."),
    target: float = typer.Option(0.8, "--power", help="Chance to detect the lift."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    variants: int = typer.Option(2, "--variants", help="Arms, the control included."),
    daily: float | None = typer.Option(None, "--daily", help="Units entering per day."),
    as_json: bool = JSON,
) -> None:
    """Units per variant needed to detect `--lift` (and days, with `--daily`)."""
    try:
        request = PowerRequest(
            baseline_mean=baseline, baseline_stddev=stddev, lift=lift, power=target,
            alpha=alpha, variants=variants, daily_units=daily,
        )  # fmt: skip
        answer = plan(request)
    except ValueError as exc:  # pydantic's ValidationError is one too
        reason = str(exc).splitlines()[-1].strip() if "validation error" in str(exc) else str(exc)
        raise InvalidPowerInput(reason=reason) from None
    if as_json:
        emit_json(answer.model_dump())
        return
    per, total = f"{answer.units_per_variant:,}", f"{answer.total_units:,}"
    console.print(
        translate("cli.experiments.power", per=per, total=total, power=f"{answer.power:.0%}")
    )
    if answer.days is not None:
        console.print(translate("cli.experiments.days", days=answer.days))
