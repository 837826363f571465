"""`tenure simulate`: a realistic shop with known ground truth, written as Parquet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from tenure.cli.context import console, day_option, emit_json, friendly, quiet_progress, services
from tenure.config import Settings
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import Mapping
from tenure.storage.warehouse import Warehouse

IMPORT_ORDER = (
    ("users", "users.parquet", Mapping()),
    ("items", "items.parquet", Mapping()),
    ("orders", "order_lines.parquet", Mapping()),
    ("events", "events.parquet", Mapping()),
    ("spend", "spend.parquet", Mapping(columns={"date": "day", "spend": "amount"})),
)


def import_simulation(
    out: Path, settings: Settings, warehouse: Warehouse, show_progress: bool = False
) -> dict[str, dict[str, object]]:
    """Import a simulator output folder into the warehouse."""
    warehouse.init()
    results = {}
    for kind, name, mapping in IMPORT_ORDER:
        with quiet_progress(show_progress) as progress:
            summary = import_files(
                kind,
                [str(out / name)],
                settings=settings,
                warehouse=warehouse,
                mapping=mapping,
                progress=progress,
            )
        results[kind] = summary.as_dict()
    return results


@friendly
def simulate(
    out: Path = typer.Option(Path("sim"), "--out", help="Folder for the Parquet files."),
    users: int = typer.Option(5000, help="Customers to simulate."),
    days: int = typer.Option(365, help="Length of the simulated period."),
    start: str = typer.Option("2024-01-01", help="First day (YYYY-MM-DD)."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same shop."),
    chunk_users: int = typer.Option(50_000, help="Users per chunk: bounds memory."),
    load: bool = typer.Option(False, "--import", help="Import the result into the warehouse."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Simulate a shop: channels, latent purchase and dropout, funnels, baskets, refunds."""
    from tenure.simulate import SimulationConfig, simulate_shop  # numpy work: only when asked

    config = SimulationConfig(
        users=users,
        days=days,
        start=day_option(start, "--start") or date(2024, 1, 1),
        seed=seed,
        chunk_users=chunk_users,
    )
    with quiet_progress(not as_json) as progress:
        summary = simulate_shop(
            config,
            out,
            progress=(lambda done, total: progress("simulate", done, total)) if progress else None,
        )
    svc = services()
    imported = import_simulation(out, svc.settings, svc.warehouse, not as_json) if load else {}
    data = {
        "out_dir": str(summary.out_dir),
        "users": summary.users,
        "events": summary.events,
        "orders": summary.orders,
        "order_lines": summary.order_lines,
        "refunds": summary.refunds,
        "revenue": str(summary.revenue),
        "imported": imported,
    }
    if as_json:
        emit_json(data)
        return
    table = Table("", "", show_header=False, title=f"simulated shop in {out}")
    for key, value in data.items():
        if key != "imported":
            table.add_row(key, str(value))
    console.print(table)
