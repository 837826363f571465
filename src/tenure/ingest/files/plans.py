"""Per-kind import plans: parse and check every row in DuckDB, then build warehouse rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb

from tenure.ingest.files import sql
from tenure.ingest.files.errors import MissingField
from tenure.ingest.files.mapping import FIELDS, Mapping
from tenure.ingest.files.readers import FILE_COLUMN, LINE_COLUMN


@dataclass
class Plan:
    """Parses the staged `raw` table into `typed` (with `_reject`), then builds outputs."""

    kind: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    mapping: Mapping
    columns: list[str]
    zone: str
    currency: str
    sources: dict[str, str] = field(init=False)
    unmapped: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.mapping.validate(self.kind)
        self.sources, self.unmapped = {}, []
        for column in self.columns:
            if column in (FILE_COLUMN, LINE_COLUMN):
                continue
            target = self.mapping.target_of(self.kind, column)
            if target is None:
                if column not in self.mapping.drop:
                    self.unmapped.append(column)
            elif target not in self.sources:
                self.sources[target] = column
        missing = [f for f in self.required if f not in self.sources]
        if missing:
            raise MissingField(
                kind=self.kind,
                fields=", ".join(missing),
                columns=", ".join(c for c in self.columns[:30] if not c.startswith("_")),
            )

    def raw(self, name: str) -> str:
        """The trimmed text of a field's source column (NULL when unmapped)."""
        return sql.text(self.sources.get(name))

    def has(self, name: str) -> bool:
        """Whether a field is mapped."""
        return name in self.sources

    def fields(self) -> tuple[list[tuple[str, str]], list[sql.Check]]:
        """The typed columns (alias, expression) and the row checks."""
        raise NotImplementedError

    def stage(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create `typed` from `raw`, with `_reject` holding each bad row's reasons."""
        columns, checks = self.fields()
        select = ", ".join(f"{expr} AS {sql.quote(alias)}" for alias, expr in columns)
        con.execute(
            f"""CREATE TABLE typed AS SELECT {FILE_COLUMN}, {LINE_COLUMN}, {select},
                {sql.reasons(checks)} AS _reject FROM raw"""
        )
        self.cross_checks(con)

    def cross_checks(self, con: duckdb.DuckDBPyConnection) -> None:
        """Checks that look across rows (run after `typed` exists)."""

    def build(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """SQL queries for the warehouse rows, from the rows that passed."""
        raise NotImplementedError

    def summary(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Figures for the import summary."""
        return {}


def reject(con: duckdb.DuckDBPyConnection, where: str, reason: str) -> None:
    """Add a reason to rows matching `where` in `typed`."""
    con.execute(
        f"UPDATE typed SET _reject = concat_ws('; ', _reject, {sql.literal(reason)}) WHERE {where}"
    )


def user_rows(source: str) -> str:
    """SQL for the users first seen in `source` (user_id, ts, channel, country columns)."""
    return f"""SELECT user_id, min(ts) AS first_seen, arg_min(channel, ts) AS channel,
                      arg_min(country, ts) AS country
               FROM {source} WHERE user_id IS NOT NULL GROUP BY user_id"""


__all__ = ["FIELDS", "Plan", "reject", "user_rows"]
