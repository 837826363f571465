"""Writing analysis results as a Rich table, CSV, JSON or Parquet, to stdout or --out."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from tenure.cli.context import console
from tenure.errors import BadRequest

FORMATS = ("table", "csv", "json", "parquet")


class BadFormat(BadRequest):
    """An output format we do not write."""

    code = "cli_bad_format"


def emit(
    fmt: str,
    out: Path | None,
    *,
    as_json: Callable[[], Any],
    as_frame: Callable[[], pd.DataFrame],
    as_table: Callable[[], Table],
) -> None:
    """Write a result in the requested format; each form is built only when asked for."""
    if fmt not in FORMATS:
        raise BadFormat(format=fmt, allowed=", ".join(FORMATS))
    if fmt == "table":
        if out:
            with out.open("w", encoding="utf-8") as fh:
                from rich.console import Console

                Console(file=fh, width=200).print(as_table())
        else:
            console.print(as_table())
        return
    if fmt == "json":
        text = json.dumps(as_json(), indent=2, default=str) + "\n"
        if out:
            out.write_text(text, "utf-8")
        else:
            sys.stdout.write(text)
        return
    frame = as_frame()
    if fmt == "csv":
        if out:
            frame.to_csv(out, index=False)
        else:
            frame.to_csv(sys.stdout, index=False)
        return
    if out is None:
        raise BadFormat(format="parquet", allowed="parquet needs --out FILE")
    frame.to_parquet(out, index=False)
