"""`tenure predict clv`: fit BG/NBD, Pareto/NBD or Gamma-Gamma on the warehouse's orders."""

from __future__ import annotations

from datetime import date
from typing import cast

import typer
from rich.table import Table

from tenure.cli.context import console, emit_json, friendly, services
from tenure.predict.service import ModelName, fit_clv

app = typer.Typer(help="Predictions: customer lifetime value models.")


@app.command("clv")
@friendly
def clv(
    model: str = typer.Option("bgnbd", help="bgnbd, paretonbd or gammagamma."),
    calibration_end: str | None = typer.Option(
        None, "--calibration-end", help="Fit up to this day; report holdout accuracy after it."
    ),
    observation_end: str | None = typer.Option(None, "--observation-end", help="Last day used."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Fit a CLV model (time unit: weeks; same-day orders are one transaction)."""
    if model not in ("bgnbd", "paretonbd", "gammagamma"):
        raise typer.BadParameter("use bgnbd, paretonbd or gammagamma", param_hint="--model")
    svc = services()
    with svc.warehouse.reader() as con:
        result = fit_clv(
            con,
            cast(ModelName, model),
            svc.settings.timezone,
            date.fromisoformat(calibration_end) if calibration_end else None,
            date.fromisoformat(observation_end) if observation_end else None,
        )
    if fmt == "json":
        emit_json(result)
        return
    table = Table("", "", show_header=False, title=f"{model} ({result['customers']:,} customers)")
    for name, value in result["params"].items():
        table.add_row(name, f"{value:.4f}")
    for name, value in (result.get("holdout") or {}).items():
        table.add_row(f"holdout {name}", str(value))
    console.print(table)
