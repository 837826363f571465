"""`tenure experiments uplift fit|score`: learn who a campaign moves, and target them next time."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.table import Table

from tenure.cli.context import console, day_option, emit_json, friendly, services
from tenure.cli.files import read_text
from tenure.i18n import translate

if TYPE_CHECKING:
    from tenure.experiments.uplift.models import Kind

# Model libraries (LightGBM, scikit-learn) load inside the commands that use them: importing
# them here would add seconds to every `tenure` command.

app = typer.Typer(
    help="Uplift targeting: fit on a past test with a control group, score customers.",
    no_args_is_help=True,
)
LEARNERS: dict[str, Kind] = {"x": "x_learner", "two": "two_model"}
SHARES = ("0.1", "0.3", "0.5")


def _units_file(path: Path) -> Any:
    """Units from a CSV file with the columns user_id, treated and at."""
    from tenure.experiments.uplift.data import units_from_records
    from tenure.experiments.uplift.errors import UpliftUnitsInvalid

    reader = csv.DictReader(io.StringIO(read_text(path)))
    header = reader.fieldnames or []
    for column in ("user_id", "treated", "at"):
        if column not in header:
            raise UpliftUnitsInvalid(source=str(path), column=column, reason="missing")
    return units_from_records(reader, str(path))


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _fit_table(meta: dict[str, Any]) -> Table:
    evaluation = meta["evaluation"]
    table = Table(
        "",
        "",
        show_header=False,
        title=translate(
            "cli.uplift.fitted",
            version=meta["version"],
            learner=meta["learner"],
            outcome=meta["outcome"],
            days=meta["outcome_days"],
        ),
    )
    table.add_row("units", f"{meta['units']:,} ({meta['dropped']:,} not customers, left out)")
    table.add_row("treated / control", f"{meta['treated']:,} / {meta['control']:,}")
    table.add_row("training / held out", f"{meta['training']:,} / {meta['held_out']:,}")
    table.add_row("Qini coefficient", _number(evaluation["qini_coefficient"]))
    table.add_row(
        "AUUC (random)",
        f"{_number(evaluation['auuc'])} ({_number(evaluation['random_auuc'])})",
    )
    total = float(evaluation["total_lift"])
    for share in SHARES:
        gained = evaluation["targeted"][share]
        table.add_row(
            f"incremental {meta['outcome']}, top {float(share):.0%} (random)",
            f"{_number(gained, 2)} ({_number(total * float(share), 2)})",
        )
    table.add_row(f"incremental {meta['outcome']}, all held out", _number(total, 2))
    if evaluation.get("reason"):
        table.add_row("note", str(evaluation["reason"]))
    return table


@app.command("fit")
@friendly
def fit(
    campaign: str | None = typer.Option(
        None, "--campaign", help="Units: this campaign's treatment and holdout entries."
    ),
    units: Path | None = typer.Option(
        None, "--units", help="Units: a CSV file of user_id, treated, at.", readable=False
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="Units: this experiment's control and one variant."
    ),
    variant: str | None = typer.Option(
        None, "--variant", help="With --experiment: the treated variant (default: the second)."
    ),
    outcome: str = typer.Option("orders", help="orders or revenue."),
    days: int | None = typer.Option(
        None,
        "--days",
        min=1,
        help="Outcome window after treatment (default: the campaign's attribution days, or 28).",
    ),
    learner: str = typer.Option("x", help="x (X-learner) or two (one model per arm)."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Fit an uplift model on a past test, evaluate it on held-out customers (Qini, AUUC)."""
    from tenure.experiments.uplift.data import units_from_rows
    from tenure.experiments.uplift.errors import UpliftUnitsSource
    from tenure.experiments.uplift.service import Outcome, UpliftConfig, fit_units

    if outcome not in ("orders", "revenue"):
        raise typer.BadParameter("use orders or revenue", param_hint="--outcome")
    if learner not in LEARNERS:
        raise typer.BadParameter("use x or two", param_hint="--learner")
    if sum(x is not None for x in (campaign, units, experiment)) != 1:
        raise UpliftUnitsSource()
    window = days
    if units is not None:
        frame = _units_file(units)
        svc = services()
    elif experiment is not None:
        from tenure.experiments.analysis import exposed_units
        from tenure.experiments.service import documents

        svc = services()
        row = svc.database.read(lambda s: documents.row(s, experiment))
        rows = exposed_units(svc.warehouse, documents.spec_of(row), row.started_at,
                             row.stopped_at, variant)  # fmt: skip
        frame = units_from_rows(rows, f"experiment {experiment}")
    else:
        from tenure.campaigns.service.arms import treatment_and_holdout

        svc = services()
        key = cast(str, campaign)
        arms = svc.database.read(lambda s: treatment_and_holdout(s, key))
        frame = units_from_rows(arms.units, f"campaign {key}")
        window = window or arms.attribution_days
    config = UpliftConfig(
        outcome=cast(Outcome, outcome),
        outcome_days=window or 28,
        learner=LEARNERS[learner],
    )
    meta = fit_units(svc.settings, svc.warehouse, frame, config)
    if fmt == "json":
        emit_json(meta)
        return
    console.print(_fit_table(meta))


@app.command("score")
@friendly
def score(
    as_of: str | None = typer.Option(None, "--as-of", help="Score customers as of this day."),
    version: str | None = typer.Option(None, "--version", help="A stored model (default: newest)."),
    top: float = typer.Option(
        0.3, "--top", min=0.0, max=1.0, help="Share of customers the printed segment rule keeps."
    ),
    no_write: bool = typer.Option(False, "--no-write", help="Do not write uplift scores."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Score every customer's uplift and write `uplift` scores (uplift, rank, percentile)."""
    from tenure.experiments.uplift.service import score_customers, segment_rule

    day = day_option(as_of, "--as-of")
    svc = services()
    scores = score_customers(
        svc.settings, svc.warehouse, as_of=day, version=version, write=not no_write
    )
    written = 0 if no_write else len(scores.values)
    rule = segment_rule(top)
    if fmt == "json":
        best = scores.values.sort_values("rank").head(10).reset_index()
        emit_json(
            {
                "version": scores.version,
                "as_of": str(scores.as_of),
                "customers": len(scores.values),
                "written": written,
                "rule": rule,
                "top": best.to_dict(orient="records"),
            }
        )
        return
    console.print(
        translate(
            "cli.uplift.scored",
            written=f"{written:,}",
            customers=f"{len(scores.values):,}",
            version=scores.version,
            as_of=str(scores.as_of),
        ),
        soft_wrap=True,
        markup=False,
    )
    console.print(
        translate("cli.uplift.rule", share=f"{top:.0%}", rule=json.dumps(rule)),
        soft_wrap=True,
        markup=False,
    )
