"""`tenure recommend train|evaluate|for|together`: fit the recommenders, score them offline, and
read the lists the API serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tenure.cli.context import console, day_option, emit_json, friendly, services
from tenure.i18n import translate

# The recommenders (scipy, implicit) load inside the commands: importing them here would add
# to every `tenure` command's start.

app = typer.Typer(help="Recommendations: bought together, for you, and cold-start lists.")

PERSONAL = ("als", "bpr", "covisit", "spark-als")


def _format(fmt: str) -> str:
    if fmt not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    return fmt


@app.command("train")
@friendly
def train(
    model: str = typer.Option(
        "als", "--model", help="Personal model: als, bpr, covisit, spark-als."
    ),
    k: int = typer.Option(50, "--k", min=1, max=500, help="Items kept per user and per item."),
    min_support: int = typer.Option(
        3, "--min-support", min=1, help="Orders a bought-together pair needs."
    ),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Train every model on the whole warehouse and store a new served version."""
    from tenure.recommend.service import train_and_store
    from tenure.recommend.train import TrainConfig

    _format(fmt)
    if model not in PERSONAL:
        raise typer.BadParameter("use " + ", ".join(PERSONAL), param_hint="--model")
    svc = services()
    config = TrainConfig(personal=model, k=k, min_support=min_support)  # type: ignore[arg-type]
    result = train_and_store(svc.settings, svc.warehouse, config)
    if fmt == "json":
        emit_json(result)
        return
    table = Table(
        "",
        "",
        show_header=False,
        title=translate("recommend.cli.trained", version=result["version"]),
    )
    for key in ("users", "items", "baskets", "interactions", "pairs_together", "pairs_covisit"):
        table.add_row(translate(f"recommend.cli.{key}"), f"{result[key]:,}")
    table.add_row(translate("recommend.cli.data_end"), str(result["data_end"] or "-"))
    total = sum(result["seconds"].values())
    table.add_row(translate("recommend.cli.seconds"), f"{total:.1f}")
    console.print(table)


def _metrics_table(title: str, rows: list[dict[str, Any]], timed: bool) -> Table:
    columns = ["recall", "ndcg", "map", "coverage", "novelty"]
    table = Table(translate("recommend.cli.model"), *(f"{c}" for c in columns), title=title)
    if timed:
        table.add_column(translate("recommend.cli.seconds"))
    for row in rows:
        cells = [row["model"], *(f"{row[c]:.4f}" for c in columns)]
        if timed:
            cells.append(f"{row['seconds']:.1f}")
        table.add_row(*cells)
    return table


@app.command("evaluate")
@friendly
def evaluate(
    days: int = typer.Option(30, "--days", min=1, max=365, help="Length of the test window."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="List length scored."),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Train before this day (default: the data's last --days)."
    ),
    models: str | None = typer.Option(
        None,
        "--models",
        help="Comma-separated subset of: "
        + ", ".join(("popular_all_time", "popular", "together", "covisit", "als", "bpr", "served")),
    ),
    sessions: Path | None = typer.Option(
        None, "--sessions", help="Score co-visitation on an OTTO-format file (session,aid,ts,type)."
    ),
    seeds: int = typer.Option(10, "--seeds", min=1, max=100, help="Cuts per session (--sessions)."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Time-split evaluation: every model and the popularity baselines on the same customers."""
    _format(fmt)
    if sessions is not None:
        _evaluate_sessions(sessions, seeds, fmt)
        return
    from tenure.recommend.evaluate import MODELS, EvaluationConfig
    from tenure.recommend.evaluate import evaluate as run

    chosen = tuple(m.strip() for m in (models or "").split(",") if m.strip()) or MODELS
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise typer.BadParameter(f"{unknown[0]}: use " + ", ".join(MODELS), param_hint="--models")
    config = EvaluationConfig(days=days, k=k, cutoff=day_option(cutoff, "--cutoff"), models=chosen)
    svc = services()
    with svc.warehouse.reader() as con:
        result = run(con, svc.settings.zone, svc.settings.recommend_exclude_skus, config)
    if fmt == "json":
        emit_json(result)
        return
    title = translate(
        "recommend.cli.evaluation",
        k=k,
        cutoff=result["cutoff"],
        end=result["window_end"],
        users=f"{result['users']:,}",
        items=f"{result['items']:,}",
    )
    console.print(_metrics_table(title, result["models"], timed=True))
    cold = result["cold_start"]
    if cold["models"]:
        title = translate("recommend.cli.cold", users=f"{cold['users']:,}")
        console.print(_metrics_table(title, cold["models"], timed=False))
    if result["best_over_popular"] is not None:
        console.print(
            translate(
                "recommend.cli.best",
                model=result["best"],
                ratio=f"{result['best_over_popular']:.2f}",
            )
        )


def _evaluate_sessions(path: Path, seeds: int, fmt: str) -> None:
    from tenure.recommend.errors import BadSessions
    from tenure.recommend.sessions import evaluate_sessions, read_otto

    try:
        frame = read_otto(path)
    except ValueError as exc:
        raise BadSessions(path=str(path), reason=str(exc)) from exc
    result = evaluate_sessions(frame, seeds=seeds)
    if fmt == "json":
        emit_json(result)
        return
    title = translate(
        "recommend.cli.sessions",
        sessions=result["sessions"],
        events=result["events"],
        seeds=len(result["seeds"]),
    )
    table = Table(
        translate("recommend.cli.model"), "clicks", "carts", "orders", "score", title=title
    )
    for model, summary in result["models"].items():
        cells = [
            f"{summary[c]['mean']:.4f} ± {summary[c]['sd']:.4f}"
            for c in ("clicks", "carts", "orders", "score")
        ]
        table.add_row(model, *cells)
    console.print(table)


def _items_table(title: str, items: list[dict[str, Any]]) -> Table:
    table = Table(
        "#", "SKU", translate("recommend.cli.name"), translate("recommend.cli.reason"), title=title
    )
    for n, item in enumerate(items, 1):
        table.add_row(str(n), item["sku"], item["name"], item["reason"]["text"])
    return table


@app.command("for")
@friendly
def for_user(
    user: str = typer.Argument(..., help="The user id."),
    n: int = typer.Option(10, "--n", min=1, max=50, help="How many items."),
    context: str | None = typer.Option(
        None, "--context", help="Comma-separated SKUs in the cart or on the page."
    ),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """A user's list as the API serves it (an unknown user gets the cold-start list)."""
    from tenure.recommend.service import for_user as lookup

    _format(fmt)
    svc = services()
    skus = [s.strip() for s in (context or "").split(",") if s.strip()]
    result = lookup(svc.settings, user, n, skus, category)
    if fmt == "json":
        emit_json(result)
        return
    key = "recommend.cli.for_user" if result["known_user"] else "recommend.cli.for_new_user"
    console.print(
        _items_table(translate(key, user=user, version=result["model_version"]), result["items"])
    )


@app.command("together")
@friendly
def together(
    sku: str = typer.Argument(..., help="The SKU."),
    n: int = typer.Option(10, "--n", min=1, max=50, help="How many items."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """What is bought with an item, with pair counts, confidence and lift."""
    from tenure.recommend.service import together as lookup

    _format(fmt)
    svc = services()
    result = lookup(svc.settings, sku, n)
    if fmt == "json":
        emit_json(result)
        return
    table = Table(
        "#",
        "SKU",
        translate("recommend.cli.name"),
        translate("recommend.cli.orders"),
        translate("recommend.cli.confidence"),
        translate("recommend.cli.lift"),
        translate("recommend.cli.reason"),
        title=translate(
            "recommend.cli.together", sku=sku, name=result["name"], version=result["model_version"]
        ),
    )
    for i, item in enumerate(result["items"], 1):
        stats = item["statistics"] or {}
        table.add_row(
            str(i),
            item["sku"],
            item["name"],
            str(stats.get("orders", "")),
            f"{stats['confidence']:.1%}" if stats else "",
            f"{stats['lift']:.2f}" if stats else "",
            item["reason"]["text"],
        )
    console.print(table)
