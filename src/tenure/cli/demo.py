"""`tenure demo`: simulate a shop, import it, score it, create keys, and start the server."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from tenure.apikeys import service as keys
from tenure.cli import setup
from tenure.cli.context import console, friendly, services
from tenure.cli.ports import first_free_port, require_port
from tenure.cli.report import write_report
from tenure.cli.simulate import import_simulation
from tenure.i18n import translate
from tenure.kit.time import utc_now
from tenure.operators import service as operators
from tenure.operators.errors import OperatorExists

HOST = "127.0.0.1"
DEMO_OPERATOR = "admin"
DEFAULT_PORT = 8000


@friendly
def demo(
    users: int = typer.Option(3000, help="Customers in the demo shop."),
    seed: int = typer.Option(7, help="Random seed."),
    port: int | None = typer.Option(
        None, help="Port for `tenure serve` (default: 8000, or the next free one)."
    ),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the server at the end."),
) -> None:
    """Everything a first look needs, on the embedded DuckDB + SQLite stores."""
    from tenure.predict.service import retrain_churn, score_clv  # LightGBM: only for the demo
    from tenure.recommend.service import train_and_store  # scipy, implicit: only for the demo
    from tenure.simulate import SimulationConfig, simulate_shop  # numpy work: only for the demo

    # Before minutes of work: a port given on purpose must be free; the default moves aside.
    if port is not None:
        require_port(HOST, port)
    elif serve:
        port = first_free_port(HOST, DEFAULT_PORT)
        if port != DEFAULT_PORT:
            console.print(translate("cli.demo.port_moved", taken=DEFAULT_PORT, port=port))
    port = port or DEFAULT_PORT
    svc = services()
    setup.init()
    out = svc.settings.home / "demo-shop"
    console.rule(translate("cli.demo.step.simulate"))
    summary = simulate_shop(SimulationConfig(users=users, seed=seed, start=date(2024, 1, 1)), out)
    console.print(
        translate(
            "cli.demo.simulated", users=summary.users, orders=summary.orders, events=summary.events
        )
    )
    console.rule(translate("cli.demo.step.import"))
    for kind, result in import_simulation(out, svc.settings, svc.warehouse, True).items():
        console.print(
            translate(
                "cli.demo.imported", kind=kind, rows=result["rows"], seconds=result["seconds"]
            )
        )
    console.rule(translate("cli.demo.step.score"))
    churn = retrain_churn(svc.settings, svc.warehouse)
    clv = score_clv(svc.warehouse, svc.settings.zone)
    console.print(translate("cli.demo.scored", churn=churn["scored"], clv=clv["written"]))
    lists = train_and_store(svc.settings, svc.warehouse)
    console.print(translate("cli.demo.recommended", users=lists["users"], items=lists["items"]))
    console.rule(translate("cli.demo.step.report"))
    report_path = write_report(svc.settings.home / "report.html")
    console.print(translate("cli.demo.report", path=report_path), highlight=False, soft_wrap=True)
    console.rule(translate("cli.demo.step.keys"))
    password = secrets.token_urlsafe(12)

    def credentials(session: Session) -> tuple[keys.CreatedKey, keys.CreatedKey]:
        _demo_operator(session, password)
        return (
            keys.create_key(session, "demo write key", ["write"]),
            keys.create_key(session, "demo admin key", ["admin"]),
        )

    write, admin = svc.database.write(credentials)
    # Keys and commands are printed unwrapped: a line break inside them breaks the copy-paste.
    console.print(
        translate("cli.demo.write_key", secret=write.secret), highlight=False, soft_wrap=True
    )
    console.print(
        translate("cli.demo.admin_key", secret=admin.secret), highlight=False, soft_wrap=True
    )
    console.print(
        translate("cli.demo.operator", username=DEMO_OPERATOR, password=password),
        highlight=False,
        soft_wrap=True,
    )
    _print_next_steps(port, write.secret, out)
    if serve:
        setup.serve(host=HOST, port=port, workers=1)


def _demo_operator(session: Session, password: str) -> None:
    """The console's admin account for the demo; a rerun gives it a new password."""
    try:
        operators.create_operator(session, DEMO_OPERATOR, password, "admin", utc_now())
    except OperatorExists:
        operators.set_password(session, DEMO_OPERATOR, password)


def curl_example(url: str, write_key: str) -> str:
    """A tracking call to copy, one option per line so no terminal wraps it inside its quotes."""
    body = '{"userId":"u1","event":"Product Viewed","properties":{"sku":"A1"}}'
    return (
        f"  curl -u {write_key}: \\\n"
        "    -H 'content-type: application/json' \\\n"
        f"    -d '{body}' \\\n"
        f"    {url}/v1/track"
    )


def _print_next_steps(port: int, write_key: str, out: Path) -> None:
    url = f"http://{HOST}:{port}"
    console.rule(translate("cli.demo.step.open"))
    for key, value in (
        ("cli.demo.open.root", url),
        ("cli.demo.open.docs", f"{url}/docs"),
        ("cli.demo.open.health", f"{url}/healthz"),
        ("cli.demo.open.data", str(out)),
    ):
        console.print(translate(key, value=value), highlight=False, soft_wrap=True)
    console.print(translate("cli.demo.open.curl"), highlight=False)
    console.print(curl_example(url, write_key), highlight=False, soft_wrap=True, markup=False)
