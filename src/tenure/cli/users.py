"""`tenure users create|list|password|disable`: the console's operator accounts."""

from __future__ import annotations

import os

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.cli.context import console, friendly, services
from tenure.i18n import translate
from tenure.kit.time import utc_now
from tenure.operators import service

app = typer.Typer(help="Operator accounts for the web console: admins change, analysts read.")

PASSWORD_ENV = "TENURE_OPERATOR_PASSWORD"


def _password(given: str | None) -> str:
    """From --password, else TENURE_OPERATOR_PASSWORD, else asked twice without echo."""
    if given:
        return given
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return str(
        typer.prompt(
            translate("cli.users.password_prompt"), hide_input=True, confirmation_prompt=True
        )
    )


@app.command("create")
@friendly
def create(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option("analyst", "--role", help="admin (changes) or analyst (reads)."),
    password: str | None = typer.Option(
        None,
        "--password",
        help=f"Prefer {PASSWORD_ENV} or the prompt: options land in shell history.",
    ),
    locale: str = typer.Option("en", "--locale", help="en or zh-CN."),
    email: str | None = typer.Option(None, "--email", help="Where the weekly review goes."),
    weekly_review: bool = typer.Option(False, "--weekly-review", help="Send the weekly review."),
) -> None:
    """Create an operator account."""
    svc = services()
    svc.database.upgrade()
    secret = _password(password)
    operator = svc.database.write(
        lambda s: service.create_operator(
            s,
            username,
            secret,
            role,
            utc_now(),
            locale=locale,
            email=email,
            weekly_review=weekly_review,
        )
    )
    console.print(translate("cli.users.created", username=operator.username, role=operator.role))


@app.command("list")
@friendly
def list_users() -> None:
    """Operator accounts (never their passwords)."""
    svc = services()

    def work(session: Session) -> Table:
        table = Table("username", "role", "locale", "email", "weekly review", "created", "disabled")
        for o in service.operators(session):
            table.add_row(
                o.username,
                o.role,
                o.locale,
                o.email or "",
                "yes" if o.weekly_review else "",
                str(o.created_at)[:16],
                str(o.disabled_at or "")[:16],
            )
        return table

    console.print(svc.database.read(work))


@app.command("password")
@friendly
def password(
    username: str = typer.Argument(...),
    new: str | None = typer.Option(
        None, "--password", help=f"Prefer {PASSWORD_ENV} or the prompt."
    ),
) -> None:
    """Set a new password; the account's open sessions end."""
    svc = services()
    secret = _password(new)
    svc.database.write(lambda s: service.set_password(s, username, secret))
    console.print(translate("cli.users.password_set", username=username))


@app.command("disable")
@friendly
def disable(username: str = typer.Argument(...)) -> None:
    """The account can no longer sign in; its sessions end."""
    svc = services()
    svc.database.write(lambda s: service.disable(s, username, utc_now()))
    console.print(translate("cli.users.disabled", username=username))
