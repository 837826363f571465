"""What every command needs: settings, stores, a console, and friendly error exits."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from tenure.config import Settings, get_settings
from tenure.errors import BadRequest, TenureError
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse, WarehouseMissing

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Services:
    """The stores, built from settings."""

    settings: Settings
    database: Database
    warehouse: Warehouse


def services() -> Services:
    """The stores for the current settings, the database migrated to the current schema."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    return Services(settings, database, Warehouse(settings))


def shop_currency(svc: Services) -> str:
    """The currency of new offers: TENURE_CURRENCY when it is set (environment or tenure.toml),
    else the currency of most of the warehouse's orders, else TENURE_CURRENCY's default.

    A shop imported in pounds then gets offers in pounds without also having to set
    TENURE_CURRENCY=GBP. Only the CLI asks: the HTTP API does not read the warehouse per request
    (an offer's body names its currency).
    """
    if "currency" in svc.settings.model_fields_set:
        return svc.settings.currency
    # Imported here: pandas and the analytics would add to every command's start.
    from tenure.analytics.currency import currency_scope

    try:
        with svc.warehouse.reader() as con:
            held = currency_scope(con).currency
    except WarehouseMissing:  # no `tenure init` or import yet: no orders to go by
        held = None
    return held or svc.settings.currency


FRIENDLY = "__tenure_friendly__"


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a TenureError into a red message and exit code 1 instead of a traceback, and Ctrl-C
    into exit code 130 without one. Every command is wrapped (a test walks the app)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TenureError as exc:
            fail(exc)
        except ValidationError as exc:
            # Options that a request model refuses (`--currency EURO`): the field and why.
            fail(invalid_input(exc))
        except BrokenPipeError:
            raise  # `tenure … | head`: click leaves quietly
        except OSError as exc:
            # The last line of defence: a file or folder no check caught (`--out` into a folder
            # that does not exist), named in one line.
            fail(os_error(exc))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    setattr(wrapper, FRIENDLY, True)
    return wrapper


def is_friendly(func: Callable[..., Any]) -> bool:
    """Whether `func`, or a function it wraps, is wrapped by `friendly`."""
    seen: Any = func
    while seen is not None:
        if getattr(seen, FRIENDLY, False):
            return True
        seen = getattr(seen, "__wrapped__", None)
    return False


def day_option(text: str | None, option: str = "date") -> date | None:
    """A YYYY-MM-DD option (None when not given); anything else is one line naming the option."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(code="cli_bad_day", option=option, value=text) from None


def invalid_input(exc: ValidationError) -> TenureError:
    """A request model's refusal of CLI options, as one error naming the first bad field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or exc.title
    return BadRequest(code="cli_invalid_input", field=field, reason=first["msg"])


def fail(exc: TenureError) -> NoReturn:
    """Print the error as one line on stderr and exit with code 1."""
    # One line, whatever the width; the message is text, not markup (`tenure[postgres]`).
    line = f"[bold red]error[/] [dim]({exc.code})[/] {escape(exc.message)}"
    err_console.print(line, soft_wrap=True)
    raise typer.Exit(1) from None


def os_error(exc: OSError) -> TenureError:
    """An OSError as a TenureError that names its file, when it has one."""
    reason = exc.strerror or str(exc)
    if not isinstance(exc.filename, str | bytes | os.PathLike):  # none, or a descriptor
        return TenureError("cli_os_error", reason=reason)
    return TenureError("cli_file_error", path=os.fsdecode(exc.filename), reason=reason)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout; Chinese offer names stay readable (UTF-8, not \\u)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@contextmanager
def quiet_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A Rich progress bar fed by (stage, done, total) callbacks, on a terminal only.

    The bar starts with its first update: a bar that never got a task still leaves a blank line
    behind when it stops, and a quick import reports no progress at all."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()
