"""`tenure import orders|events|users|items FILE...`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import typer
from rich.table import Table

from tenure.cli.context import console, emit_json, err_console, friendly, quiet_progress, services
from tenure.i18n import translate
from tenure.ingest.files.importer import import_files
from tenure.ingest.files.mapping import (
    KINDS,
    Mapping,
    load_mapping_file,
    parse_flags,
    preset,
    save_mapping_file,
)

app = typer.Typer(help="Import orders, events, users or items from CSV, CSV.GZ, Parquet or Excel.")


def _mapping(
    kind: str,
    preset_name: str | None,
    mapping_file: Path | None,
    maps: list[str],
    date_format: str | None,
    timezone: str | None,
    currency: str | None,
) -> Mapping:
    mapping = preset(preset_name, kind) if preset_name else Mapping()
    if mapping_file:
        mapping = mapping.merged(load_mapping_file(mapping_file))
    flags = Mapping(
        columns=parse_flags(maps), date_format=date_format, timezone=timezone, currency=currency
    )
    return mapping.merged(flags)


def _run(
    kind: str,
    files: list[str],
    preset_name: str | None,
    mapping_file: Path | None,
    maps: list[str],
    date_format: str | None,
    timezone: str | None,
    currency: str | None,
    max_rejects: int,
    save_mapping: Path | None,
    output: str,
) -> None:
    svc = services()
    mapping = _mapping(kind, preset_name, mapping_file, maps, date_format, timezone, currency)
    mapping.validate(kind)
    if save_mapping:
        save_mapping_file(save_mapping, mapping)
    svc.warehouse.init()
    with quiet_progress(output == "table") as progress:
        summary = import_files(
            kind,
            files,
            settings=svc.settings,
            warehouse=svc.warehouse,
            mapping=mapping,
            max_rejects=max_rejects,
            progress=progress,
            database=svc.database,
        )
    for warning in summary.warnings:
        err_console.print(warning.message, soft_wrap=True)
    if output == "json":
        emit_json(summary.as_dict())
        return
    table = Table("", "", title=translate("cli.import.summary", kind=kind), show_header=False)
    for key, value in summary.as_dict().items():
        if value is not None and key not in ("kind", "warnings"):
            table.add_row(key.replace("_", " "), _cell(value))
    console.print(table)


def _cell(value: object) -> str:
    """A summary figure as text: counts with separators, amounts per currency as `1,234.50 GBP`."""
    if isinstance(value, dict):
        return ", ".join(f"{_cell(Decimal(str(v)))} {k}" for k, v in value.items()) or "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _command(kind: str) -> None:
    @app.command(kind, help=f"Import {kind} from files, globs or folders.")
    @friendly
    def command(
        files: list[str] = typer.Argument(..., help="Files, globs or folders."),
        preset_name: str | None = typer.Option(None, "--preset", help="online-retail or cdnow."),
        mapping_file: Path | None = typer.Option(
            None, "--mapping", readable=False, help="Saved mapping (JSON/TOML)."
        ),
        maps: list[str] = typer.Option([], "--map", help="Column=field, repeatable."),
        date_format: str | None = typer.Option(
            None, "--date-format", help="strptime format, or epoch / epoch_ms."
        ),
        timezone: str | None = typer.Option(None, "--timezone", help="Zone of naive times."),
        currency: str | None = typer.Option(None, "--currency", help="Currency when no column."),
        max_rejects: int = typer.Option(
            0, "--max-rejects", help="Import anyway when at most this many rows are bad."
        ),
        save_mapping: Path | None = typer.Option(None, "--save-mapping", help="Write the mapping."),
        output: str = typer.Option("table", "--format", help="table or json."),
    ) -> None:
        _run(
            kind,
            files,
            preset_name,
            mapping_file,
            maps,
            date_format,
            timezone,
            currency,
            max_rejects,
            save_mapping,
            output,
        )


for _kind in KINDS:
    _command(_kind)
