"""Reading CSV, CSV.GZ, Parquet and Excel files into all-text Arrow tables with line numbers."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tenure.ingest.files.errors import NoFiles, UnreadableFile, UnsupportedFormat

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".pq", ".xlsx", ".xlsm")


def expand(paths: Iterable[str]) -> list[Path]:
    """Files named by paths, globs or directories, in name order, without repeats."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            matches = [p for p in path.iterdir() if p.name.lower().endswith(SUFFIXES)]
        elif any(ch in raw for ch in "*?["):
            matches = [Path(p) for p in glob.glob(raw, recursive=True)]
        else:
            matches = [path]
        for match in sorted(matches):
            if not match.exists():
                raise NoFiles(paths=str(match))
            if match not in found:
                found.append(match)
    if not found:
        raise NoFiles(paths=", ".join(paths))
    return found


def _header(path: Path, delimiter: str) -> list[str]:
    options = pacsv.ReadOptions(block_size=1 << 16)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    with pacsv.open_csv(path, read_options=options, parse_options=parse) as reader:
        return [field.name for field in reader.schema]


def _read_csv(path: Path) -> pa.Table:
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    names = _header(path, delimiter)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=True,
        null_values=[""],
    )
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=convert,
    )


def _read_excel(path: Path) -> pa.Table:
    import pandas as pd

    frame = pd.read_excel(path, dtype=str, engine="openpyxl")
    return pa.Table.from_pandas(frame, preserve_index=False)


def _as_text(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            columns.append(column.cast(pa.string()))
        elif pa.types.is_timestamp(column.type) and column.type.tz is not None:
            # Keep the offset in the text so the instant survives the round trip.
            columns.append(pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z"))
        else:
            columns.append(column.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def is_parquet(path: Path) -> bool:
    """Whether DuckDB reads the file itself (typed, streamed, no Python copy)."""
    return path.name.lower().endswith((".parquet", ".pq"))


def parquet_view_sql(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """A SELECT over a Parquet file with every column as text plus `_file` and `_line`."""
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal})").fetchall()
    except duckdb.Error as exc:
        raise UnreadableFile(file=str(path), reason=str(exc)[:300]) from None
    columns = ", ".join(
        f'CAST("{name}" AS VARCHAR) AS "{name.strip()}"'
        for name, *_ in described
        if name not in (FILE_COLUMN, LINE_COLUMN)
    )
    return (
        f"SELECT {columns}, {literal} AS {FILE_COLUMN}, file_row_number + 1 AS {LINE_COLUMN} "
        f"FROM read_parquet({literal}, file_row_number = true)"
    )


def read_file(path: Path) -> pa.Table:
    """One file as text columns plus `_file` and `_line` (the line a user sees in an editor)."""
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz", ".tsv")):
            table, first_line = _read_csv(path), 2
        elif name.endswith((".parquet", ".pq")):
            table, first_line = _as_text(pq.read_table(path)), 1
        elif name.endswith((".xlsx", ".xlsm")):
            table, first_line = _read_excel(path), 2
        else:
            raise UnsupportedFormat(file=str(path), supported=", ".join(SUFFIXES))
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise UnreadableFile(file=str(path), reason=str(exc)[:300]) from None
    table = table.rename_columns([c.strip() for c in table.column_names])
    lines = pa.array(range(first_line, first_line + table.num_rows), type=pa.int64())
    table = table.append_column(FILE_COLUMN, pa.array([str(path)] * table.num_rows, pa.string()))
    return table.append_column(LINE_COLUMN, lines)
