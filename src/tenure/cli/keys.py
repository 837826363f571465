"""`tenure keys create|list|revoke`."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.apikeys import service
from tenure.cli.context import console, emit_json, friendly, services
from tenure.i18n import translate

app = typer.Typer(help="API keys: write (tracking only), server (checkout), admin (everything).")


@app.command("create")
@friendly
def create(
    scope: list[str] = typer.Option(["write"], "--scope", help="write, server or admin."),
    name: str = typer.Option("default", "--name", help="A label for the key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a key and print its secret once."""
    svc = services()
    svc.database.upgrade()
    key = svc.database.write(lambda s: service.create_key(s, name, scope))
    if as_json:
        emit_json({"id": key.id, "name": key.name, "scopes": key.scopes, "secret": key.secret})
        return
    console.print(translate("cli.keys.created", id=key.id, scopes=", ".join(key.scopes)))
    console.print(key.secret, highlight=False)


@app.command("list")
@friendly
def list_keys() -> None:
    """List keys (never their secrets)."""
    svc = services()

    def work(session: Session) -> Table:
        table = Table("id", "name", "prefix", "scopes", "created", "revoked")
        for key in service.list_keys(session):
            table.add_row(
                key.id,
                key.name,
                key.prefix + "…",
                key.scopes,
                str(key.created_at),
                str(key.revoked_at or ""),
            )
        return table

    console.print(svc.database.read(work))


@app.command("revoke")
@friendly
def revoke(key_id: str) -> None:
    """Revoke a key."""
    svc = services()
    svc.database.write(lambda s: service.revoke_key(s, key_id))
    console.print(f"revoked {key_id}")
