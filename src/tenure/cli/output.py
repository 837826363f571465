"""Writing analysis results as a Rich table, CSV, JSON or Parquet, to stdout or --out.

The format is --format when given, else the one the --out file's name ends in (`users.csv`,
`users.csv.gz`, `users.json`, `users.parquet`, `users.txt` for a table), else a table on the
terminal. Whatever goes to a file, or to stdout as CSV/JSON, is whole. Only a table on the terminal
is fitted to its width: columns wrap at spaces, and what still does not fit is cut (the last period
columns, the rows after the first 50) with one hint line on stderr saying what was left out and how
to get all of it.

Commands describe a wide or long table as a `Grid` (the cells as text) and say how it may be fitted:
`Columns` (the first columns that fit), `Blocks` (the columns split over several tables), `Rows`
(the first rows), `Prefer` (one form if it fits whole, else another). Any other Rich table is
printed as it is, its columns wrapped at spaces when it is too wide (`fit_table`).
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from tenure.cli.context import console, err_console
from tenure.errors import BadRequest
from tenure.i18n import translate

FORMATS = ("table", "csv", "json", "parquet")
# Longest first: `x.csv.gz` is CSV. `.txt` means "a table, as text"; `.html` is for commands with
# an HTML form (`predict churn-eval`).
SUFFIXES = {
    ".csv.gz": "csv",
    ".csv": "csv",
    ".json": "json",
    ".parquet": "parquet",
    ".txt": "table",
    ".html": "html",
}
ROWS_ON_TERMINAL = 50
FORMAT_HELP = "table, csv, json or parquet (default: from the --out name, else table)."
OUT_HELP = "Write everything to this file; .csv, .csv.gz, .json, .parquet or .txt picks the format."
_UNLIMITED = 100_000


class BadFormat(BadRequest):
    """An output format we do not write."""

    code = "cli_bad_format"


class FormatConflict(BadRequest):
    """--format says one format, the --out file's name another."""

    code = "cli_format_conflict"


class UnknownSuffix(BadRequest):
    """--out without --format, and a name that says no format."""

    code = "cli_unknown_suffix"


class ParquetNeedsFile(BadRequest):
    """Parquet is binary: it goes to a file, not the terminal."""

    code = "cli_parquet_needs_out"


def suffix_format(out: Path) -> str | None:
    """The format a file's name asks for (`users.csv.gz`: csv), or None."""
    name = out.name.lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def output_format(
    fmt: str | None,
    out: Path | None,
    allowed: Sequence[str] = FORMATS,
    fallback: str | None = None,
) -> str:
    """The format to write: --format, else the --out file's extension, else `fallback` or table.

    An --out name with no known extension and no --format is an error unless the command has a
    `fallback` (`segments export` writes CSV).
    """
    if fmt is not None and fmt not in allowed:
        raise BadFormat(format=fmt, allowed=", ".join(allowed))
    named = suffix_format(out) if out is not None else None
    if fmt is None:
        if out is None:
            return "table"
        if named in allowed:
            return str(named)
        if fallback is not None:
            return fallback
        known = ", ".join(s for s, f in SUFFIXES.items() if f in allowed)
        raise UnknownSuffix(path=str(out), suffixes=known, allowed=", ".join(allowed))
    # `--format table --out users.csv`: an explicit flag against the file's own name. Following
    # the flag writes a box-drawn table into users.csv (the very surprise this rule removes: the
    # spreadsheet opens garbage); following the name silently ignores a flag the user typed. One
    # line that names both is the least surprising. A `.txt` name fits any text format.
    if named is not None and named != "table" and named != fmt:
        raise FormatConflict(format=fmt, path=str(out), named=named)
    return fmt


def write_frame(frame: pd.DataFrame, fmt: str, out: Path | None) -> None:
    """A frame as CSV (gzipped for `.csv.gz`), JSON records or Parquet; all of its rows."""
    if fmt == "csv":
        frame.to_csv(out if out is not None else sys.stdout, index=False)
    elif fmt == "json":
        text = json.dumps(frame.to_dict("records"), indent=2, default=str) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, "utf-8")
    elif out is None:
        raise ParquetNeedsFile()
    else:
        frame.to_parquet(out, index=False)


def emit(
    fmt: str | None,
    out: Path | None,
    *,
    as_json: Callable[[], Any],
    as_frame: Callable[[], pd.DataFrame],
    as_table: Callable[[], Shown | Sequence[Shown]],
) -> str:
    """Write a result in the requested format; each form is built only when asked for.

    Returns the format written (from --format or the --out name).
    """
    fmt = output_format(fmt, out)
    if fmt == "table":
        parts = as_table()
        if out is not None:
            write_tables(parts, out)
        else:
            show(parts)
    elif fmt == "json":
        text = json.dumps(as_json(), indent=2, default=str) + "\n"
        if out is not None:
            out.write_text(text, "utf-8")
            err_console.print(translate("cli.output.wrote", path=out))
        else:
            sys.stdout.write(text)
    else:
        frame = as_frame()
        write_frame(frame, fmt, out)
        if out is not None:
            err_console.print(translate("cli.output.wrote_rows", rows=f"{len(frame):,}", path=out))
    return fmt


# --- Fitting tables to the terminal -----------------------------------------------------------


class Fit(ABC):
    """A table that may take another shape to fit a width."""

    @abstractmethod
    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        """The tables for `width` (None: a file, everything), and a note of what was left out."""


Shown = RenderableType | Fit


@dataclass
class Grid(Fit):
    """A table as text: label columns that always show, then value columns that may be cut."""

    title: str
    labels: Sequence[str]
    values: Sequence[str]
    rows: list[tuple[Sequence[str], Sequence[str]]] = field(default_factory=list)

    def add(self, labels: Sequence[str], values: Sequence[str]) -> None:
        """One row; a row with fewer values (a cohort triangle) leaves the rest blank."""
        self.rows.append((labels, values))

    def table(self, columns: Sequence[int] | None = None, rows: int | None = None) -> Table:
        """A Rich table of the chosen value columns and the first `rows` rows."""
        chosen = range(len(self.values)) if columns is None else columns
        table = Table(title=self.title)
        for name in self.labels:
            table.add_column(name)
        for i in chosen:
            table.add_column(self.values[i], justify="right")
        for labels, values in self.rows[:rows]:
            table.add_row(*labels, *(values[i] if i < len(values) else "" for i in chosen))
        return table

    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        return [self.table()], None


@dataclass
class Columns(Fit):
    """The first value columns that fit (a cohort's first periods); `what` names them (week)."""

    grid: Grid
    what: str

    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        count = len(self.grid.values)
        if width is None:
            return [self.grid.table()], None
        shown = _most(lambda n: self.grid.table(range(n)), min(1, count), count, con, width)
        if shown == count:
            return [self.grid.table()], None
        note = translate(
            "cli.output.cut_columns", hidden=count - shown, total=count, what=self.what
        )
        return [self.grid.table(range(shown))], note


@dataclass
class Blocks(Fit):
    """The value columns over as many tables as it takes, each with the label columns."""

    grid: Grid

    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        count = len(self.grid.values)
        if width is None or count == 0:
            return [self.grid.table()], None
        greedy, start = [], 0
        while start < count:
            greedy.append(_most(partial(self._block, start), 1, count - start, con, width))
            start += greedy[-1]
        # As many tables as the greedy split needs, but the columns shared out evenly when they
        # fit that way (4 + 4 + 3, not 5 + 5 + 1).
        even = [count // len(greedy) + (i < count % len(greedy)) for i in range(len(greedy))]
        blocks = self._split(even)
        if any(_natural(con, block).minimum > width for block in blocks):
            blocks = self._split(greedy)
        if len(blocks) > 1:
            for i, block in enumerate(blocks, 1):
                block.title = f"{self.grid.title} ({i}/{len(blocks)})"
        return blocks, None

    def _block(self, start: int, size: int) -> Table:
        return self.grid.table(range(start, start + size))

    def _split(self, sizes: list[int]) -> list[Table]:
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [self._block(at, size) for at, size in zip(starts, sizes, strict=True)]


@dataclass
class Rows(Fit):
    """A long list: the first rows on the terminal, every row in a file."""

    grid: Grid
    limit: int = ROWS_ON_TERMINAL

    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        total = len(self.grid.rows)
        if width is None or total <= self.limit:
            return [self.grid.table()], None
        hidden = f"{total - self.limit:,}"
        note = translate("cli.output.cut_rows", hidden=hidden, total=f"{total:,}")
        return [self.grid.table(rows=self.limit)], note


@dataclass
class Prefer(Fit):
    """`first` when it fits whole (a file: always), else `otherwise`."""

    first: Grid
    otherwise: Fit

    def tables(self, con: Console, width: int | None) -> tuple[list[Table], str | None]:
        table = self.first.table()
        if width is None or _natural(con, table).minimum <= width:
            return [table], None
        return self.otherwise.tables(con, width)


def _natural(con: Console, renderable: RenderableType) -> Measurement:
    return Measurement.get(con, con.options.update_width(_UNLIMITED), renderable)


def _most(make: Callable[[int], Table], least: int, most: int, con: Console, width: int) -> int:
    """The largest n in least..most whose table fits whole (`least` when none does)."""
    while least < most:
        mid = (least + most + 1) // 2
        if _natural(con, make(mid)).minimum <= width:
            least = mid
        else:
            most = mid - 1
    return least


def fit_table(con: Console, table: Table, width: int) -> bool:
    """Fix `table`'s column widths so it fits `width` without breaking a word; False if it can't.

    A table narrower than `width` is left alone. Otherwise each column gets its longest word and
    the width to spare goes to the columns in proportion to how much more their text would take.
    Rich's own squeeze narrows the widest columns first and may cut a word in the middle
    (`recency_da…`); a table whose longest words do not fit is left to it, and we say so.
    """
    options = con.options.update_width(_UNLIMITED)
    whole = Measurement.get(con, options, table)
    if whole.maximum <= width:
        return True
    if whole.minimum > width:
        return False
    spans = []
    for column in table.columns:
        found = [Measurement.get(con, options, cell) for cell in (column.header, *column.cells)]
        span = Measurement(max(m.minimum for m in found), max(m.maximum for m in found))
        spans.append(span.clamp(column.min_width, column.max_width))
    overhead = whole.maximum - sum(s.maximum for s in spans)
    if overhead != whole.minimum - sum(s.minimum for s in spans):
        return True  # a layout we do not model (fixed widths, ratios): Rich decides
    spare = width - whole.minimum
    wants = [s.maximum - s.minimum for s in spans]
    extra = [spare * w // sum(wants) for w in wants]
    # Largest remainders first, so the split is as fair as whole characters allow.
    order = sorted(range(len(wants)), key=lambda i: -(spare * wants[i] % sum(wants)))
    for i in order[: spare - sum(extra)]:
        extra[i] += 1
    for column, span, more in zip(table.columns, spans, extra, strict=True):
        column.width = span.minimum + more
    return True


def _flatten(parts: Shown | Sequence[Shown]) -> list[Shown]:
    if isinstance(parts, Group):
        return [p for r in parts.renderables for p in _flatten(r)]
    if isinstance(parts, Sequence) and not isinstance(parts, str):
        return [p for r in parts for p in _flatten(r)]
    return [parts]


def show(parts: Shown | Sequence[Shown]) -> None:
    """Print tables on the terminal, fitted to its width; one hint line if anything was cut."""
    width = console.width
    notes: list[str] = []
    squeezed = False
    for part in _flatten(parts):
        items: list[RenderableType] = [part] if not isinstance(part, Fit) else []
        if isinstance(part, Fit):
            tables, note = part.tables(console, width)
            items.extend(tables)
            notes.extend([note] if note else [])
        for item in items:
            if isinstance(item, Table) and not fit_table(console, item, width):
                squeezed = True
            console.print(item)
    if squeezed:
        notes.append(translate("cli.output.squeezed", width=width))
    if notes:
        hint = translate("cli.output.hint", cut="; ".join(notes))
        err_console.print(f"[dim]{escape(hint)}[/]")


def write_tables(parts: Shown | Sequence[Shown], out: Path) -> None:
    """Tables as text into a file, whole: every row and column, as wide as they are."""
    items: list[RenderableType] = []
    for part in _flatten(parts):
        items.extend(part.tables(console, None)[0] if isinstance(part, Fit) else [part])
    width = max([80, *(_natural(console, item).maximum for item in items)])
    with out.open("w", encoding="utf-8") as fh:
        text = Console(file=fh, width=width)
        for item in items:
            text.print(item)
    err_console.print(translate("cli.output.wrote", path=out))


def currency_note(currency: str | None, left_out: dict[str, int]) -> None:
    """One line on stderr when orders in other currencies were left out of the money figures."""
    if not left_out:
        return
    counts = ", ".join(f"{n:,} in {code}" for code, n in left_out.items())
    other = next(iter(left_out))
    line = translate("cli.currency.left_out", currency=currency, orders=counts, other=other)
    err_console.print(line, soft_wrap=True)
