"""`tenure predict clv|churn|churn-eval|churn-models`: fit, evaluate and write per-user scores."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, cast

import typer
from rich.table import Table
from rich.text import Text

from tenure.analytics.currency import CURRENCY_HELP
from tenure.cli.context import console, day_option, emit_json, friendly, services
from tenure.cli.output import output_format, show, write_tables
from tenure.i18n import translate

# Model libraries (LightGBM, scikit-learn, scipy) load inside the commands that use them:
# importing them here would add seconds to every `tenure` command.

app = typer.Typer(help="Predictions: lifetime value, churn risk and next order, written to scores.")


def _day(value: str | None) -> date | None:
    return day_option(value)


@app.command("clv")
@friendly
def clv(
    model: str = typer.Option("bgnbd", help="bgnbd, paretonbd or gammagamma."),
    calibration_end: str | None = typer.Option(
        None, "--calibration-end", help="Fit up to this day; report holdout accuracy after it."
    ),
    observation_end: str | None = typer.Option(None, "--observation-end", help="Last day used."),
    currency: str | None = typer.Option(None, "--currency", help=CURRENCY_HELP),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    no_write: bool = typer.Option(
        False, "--no-write", help="Do not write per-customer CLV scores."
    ),
) -> None:
    """Fit a CLV model (weeks; same-day orders are one transaction) and write `clv` scores.

    Scores use every order up to --observation-end: P(alive), expected orders in 30 and 90 days
    (BG/NBD) and 12-month CLV (Gamma-Gamma), in minor units of the orders' currency: when they
    are in several, only those in --currency (default: the currency of most orders) are used.
    """
    from tenure.predict.service import ModelName, fit_clv, score_clv

    if model not in ("bgnbd", "paretonbd", "gammagamma"):
        raise typer.BadParameter("use bgnbd, paretonbd or gammagamma", param_hint="--model")
    calibration = day_option(calibration_end, "--calibration-end")
    observation = day_option(observation_end, "--observation-end")
    svc = services()
    with svc.warehouse.reader() as con:
        result = fit_clv(
            con, cast(ModelName, model), svc.settings.zone, calibration, observation, currency
        )
    if not no_write:
        written = score_clv(svc.warehouse, svc.settings.zone, currency, observation)
        result["scores"] = {k: written[k] for k in ("model", "version", "written")}
    if fmt == "json":
        emit_json(result)
        return
    table = Table("", "", show_header=False, title=f"{model} ({result['customers']:,} customers)")
    for name, value in result["params"].items():
        table.add_row(name, f"{value:.4f}")
    for name, value in (result.get("holdout") or {}).items():
        table.add_row(f"holdout {name}", str(value))
    if "scores" in result:
        table.add_row("scores written", f"{result['scores']['written']:,}")
    console.print(table)


@app.command("churn")
@friendly
def churn(
    horizon_days: int = typer.Option(90, "--horizon-days", help="Churn = no order in N days."),
    as_of: str | None = typer.Option(None, "--as-of", help="Use data up to this day."),
    windows: int = typer.Option(3, help="Training cut-offs, 30 days apart."),
    version: str | None = typer.Option(
        None, "--version", help="Score with this stored model instead of training a new one."
    ),
    no_write: bool = typer.Option(False, "--no-write", help="Do not write churn scores."),
    top: int = typer.Option(10, help="Customers to show (highest risk first)."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Train a churn model (LightGBM, calibrated), score every customer, write `churn` scores."""
    import pandas as pd

    from tenure.predict.churn import registry
    from tenure.predict.churn.service import ChurnConfig
    from tenure.predict.service import score_churn, train_churn

    svc = services()
    trained = None
    if version is None:
        config = ChurnConfig(horizon_days=horizon_days, windows=windows)
        trained = train_churn(svc.settings, svc.warehouse, config, _day(as_of))
        version = str(trained["version"])
    version, values = score_churn(
        svc.settings, svc.warehouse, as_of=_day(as_of), version=version, write=not no_write
    )
    ranked = values.sort_values("churn_probability", ascending=False) if len(values) else values
    if fmt == "json":
        emit_json(
            {
                "model": trained or registry.metadata(svc.settings.home, version),
                "version": version,
                "customers": len(values),
                "written": 0 if no_write else len(values),
                "top": ranked.head(top).reset_index().to_dict(orient="records"),
            }
        )
        return
    table = Table(
        "user_id",
        "churn",
        "p_alive",
        "recency",
        "next order",
        "top driver",
        title=translate("churn.cli.title", version=version, customers=f"{len(values):,}"),
        caption=_ranker_note(trained or registry.metadata(svc.settings.home, version)),
        caption_justify="left",
    )
    for user_id, row in ranked.head(top).iterrows():
        driver = row["drivers"][0] if row["drivers"] else {}
        table.add_row(
            str(user_id),
            f"{row['churn_probability']:.1%}",
            f"{row['p_alive']:.2f}",
            f"{row['recency_days']:.0f} d",
            "–" if pd.isna(row["next_order_date"]) else str(row["next_order_date"]),
            f"{driver.get('feature', '')} = {driver.get('value', '')}",
        )
    console.print(table)


def _ranker_note(meta: dict[str, Any]) -> str:
    """Which ranking the version's scores use, and why (versions before the choice: nothing)."""
    selection = meta.get("selection")
    if not selection:
        return ""
    if not selection.get("evaluated"):
        return translate("churn.cli.unevaluated", reason=selection.get("reason", ""))
    return str(selection.get("message", ""))


@app.command("churn-eval")
@friendly
def churn_eval(
    horizon_days: int = typer.Option(90, "--horizon-days", help="Churn = no order in N days."),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Evaluate customers as of this day (default: one horizon ago)."
    ),
    windows: int = typer.Option(3, help="Training cut-offs before the evaluation cut-off."),
    fmt: str | None = typer.Option(
        None, "--format", help="table, json or html (default: from the --out name, else table)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the output to this file; .json, .html or .txt picks the format."
    ),
) -> None:
    """Evaluate churn ranking on a later window against recency and BG/NBD baselines."""
    from tenure.predict.churn.report import METRICS, evaluation_html, model_beats, scores_use
    from tenure.predict.churn.service import ChurnConfig, evaluate

    fmt = output_format(fmt, out, ("table", "json", "html"))
    svc = services()
    config = ChurnConfig(horizon_days=horizon_days, windows=windows)
    with svc.warehouse.reader() as con:
        result = evaluate(con, svc.settings.zone, config, _day(cutoff))
    if fmt in ("json", "html"):
        text = (
            evaluation_html(result, svc.settings.zone)
            if fmt == "html"
            else json.dumps(result, indent=2)
        )
        if out is not None:
            out.write_text(text, "utf-8")
            console.print(translate("churn.cli.written", path=str(out)))
        elif fmt == "json":
            emit_json(result)
        else:
            sys.stdout.write(text)
        return
    table = Table(
        "",
        *(translate(f"churn.metric.{k}") for k in METRICS),
        translate("churn.compare.beats"),
        translate("churn.compare.scores"),
        title=translate(
            "churn.cli.eval_title",
            cutoff=result["cutoff"],
            end=result["window_end"],
            customers=f"{result['customers']:,}",
            rate=f"{result['churn_rate']:.1%}",
        ),
    )
    for name, m in result["rankings"].items():
        table.add_row(
            translate(f"churn.ranking.{name}"),
            *("–" if m[k] is None else f"{m[k]:.4f}" for k in METRICS),
            model_beats(result, name),
            scores_use(result, name),
        )
    # The verdict as its own line, never cut with the table's columns.
    verdict = Text(result["comparison"]["message"])
    if out is not None:
        write_tables([table, verdict], out)
    else:
        show([table, verdict])


@app.command("churn-models")
@friendly
def churn_models(fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """List stored churn model versions."""
    from tenure.predict.churn import registry

    svc = services()
    metas = [registry.metadata(svc.settings.home, v) for v in registry.versions(svc.settings.home)]
    if fmt == "json":
        emit_json(metas)
        return
    table = Table("version", "as of", "horizon", "training rows", "scores use", "trained at")
    for meta in metas:
        table.add_row(
            meta["version"],
            meta["as_of"],
            f"{meta['horizon_days']} d",
            f"{meta['training_rows']:,}",
            str(meta.get("ranker", "model")),
            meta["trained_at"][:19],
        )
    console.print(table)
