"""`tenure demo`: simulate a shop, import it, create keys, and start the server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from tenure.apikeys import service as keys
from tenure.cli import setup
from tenure.cli.context import console, friendly, services
from tenure.cli.report import write_report
from tenure.cli.simulate import import_simulation


@friendly
def demo(
    users: int = typer.Option(3000, help="Customers in the demo shop."),
    seed: int = typer.Option(7, help="Random seed."),
    port: int = typer.Option(8000, help="Port for `tenure serve`."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the server at the end."),
) -> None:
    """Everything a first look needs, on the embedded DuckDB + SQLite stores."""
    from tenure.simulate import SimulationConfig, simulate_shop  # numpy work: only for the demo

    svc = services()
    setup.init()
    out = svc.settings.home / "demo-shop"
    console.rule("1. simulate a shop")
    summary = simulate_shop(SimulationConfig(users=users, seed=seed, start=date(2024, 1, 1)), out)
    console.print(f"{summary.users:,} users, {summary.orders:,} orders, {summary.events:,} events")
    console.rule("2. import it")
    for kind, result in import_simulation(out, svc.settings, svc.warehouse, True).items():
        console.print(f"{kind}: {result['rows']:,} rows in {result['seconds']} s")
    console.rule("3. report")
    report_path = write_report(svc.settings.home / "report.html")
    console.print(f"retention report: {report_path}", highlight=False)
    console.rule("4. keys")
    write, admin = svc.database.write(
        lambda s: (
            keys.create_key(s, "demo write key", ["write"]),
            keys.create_key(s, "demo admin key", ["admin"]),
        )
    )
    console.print(f"write key (for Segment clients): {write.secret}", highlight=False)
    console.print(f"admin key: {admin.secret}", highlight=False)
    _print_next_steps(port, write.secret, out)
    if serve:
        setup.serve(host="127.0.0.1", port=port, workers=1)


def _print_next_steps(port: int, write_key: str, out: Path) -> None:
    url = f"http://127.0.0.1:{port}"
    console.rule("5. open")
    console.print(f"API docs:      {url}/docs")
    console.print(f"health:        {url}/healthz")
    console.print(f"simulated data and ground truth: {out}")
    console.print(
        f"send an event: curl -u {write_key}: -H 'content-type: application/json' "
        f'-d \'{{"userId":"u1","event":"Product Viewed","properties":{{"sku":"A1"}}}}\' '
        f"{url}/v1/track",
        highlight=False,
    )
