"""Per-kind import plans: parse and check every row in DuckDB, then build warehouse rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import duckdb

from tenure.i18n import translate
from tenure.ingest.files import sql
from tenure.ingest.files.errors import MissingField
from tenure.ingest.files.mapping import FIELDS, Mapping
from tenure.ingest.files.readers import FILE_COLUMN, LINE_COLUMN
from tenure.ingest.warnings.service import EXAMPLES, TOO_EARLY, TOO_LATE, Tally, import_source
from tenure.storage.plausible import TimeWindow


@dataclass
class Plan:
    """Parses the staged `raw` table into `typed` (with `_reject`), then builds outputs."""

    kind: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    mapping: Mapping
    columns: list[str]
    zone: ZoneInfo
    currency: str
    # Plausible times: [earliest, import time + tolerance] (storage/plausible.py).
    bounds: tuple[datetime, datetime] = field(default_factory=lambda: TimeWindow.default().bounds())
    sources: dict[str, str] = field(init=False)
    unmapped: list[str] = field(init=False)
    timed: dict[str, bool] = field(init=False)  # typed time columns checked -> is a DATE

    def __post_init__(self) -> None:
        self.mapping.validate(self.kind)
        self.sources, self.unmapped, self.timed = {}, [], {}
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

    def _bound(self, name: str, which: int) -> str:
        value = self.bounds[which]
        if self.timed[name]:
            return f"DATE '{value.date().isoformat()}'"
        return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat(sep=' ')}'"

    def time_checks(
        self, name: str, raw: str, parsed: str, *, is_date: bool = False
    ) -> list[sql.Check]:
        """Reject a row whose time `name` (its typed column, parsed from `raw`) is implausible:
        before the earliest time, or later than the import time plus the tolerance. An import
        of last year's orders is normal; one of next year's is not."""
        self.timed[name] = is_date
        lo, hi = self.bounds
        early = sql.literal(
            translate("import.reason.too_early", field=name, earliest=lo.date().isoformat()) + " "
        )
        late = sql.literal(
            translate("import.reason.too_late", field=name, latest=hi.isoformat(timespec="minutes"))
            + " "
        )
        return [
            sql.Check(f"{parsed} < {self._bound(name, 0)}", f"{early} || {raw}"),
            sql.Check(f"{parsed} > {self._bound(name, 1)}", f"{late} || {raw}"),
        ]

    def time_tallies(self, con: duckdb.DuckDBPyConnection) -> list[Tally]:
        """Rows rejected by `time_checks`, per reason, with the first few as examples."""
        out = []
        for reason, op, which in ((TOO_EARLY, "<", 0), (TOO_LATE, ">", 1)):
            if not self.timed:
                break
            hit = " OR ".join(f"{sql.quote(c)} {op} {self._bound(c, which)}" for c in self.timed)
            row = con.execute(f"SELECT count(*) FROM typed WHERE {hit}").fetchone()
            if not row or not row[0]:
                continue
            values = ", ".join(f"{sql.quote(c)}::VARCHAR" for c in self.timed)
            examples = con.execute(
                f"""SELECT {FILE_COLUMN}, {LINE_COLUMN}, {values} FROM typed WHERE {hit}
                    ORDER BY {FILE_COLUMN}, {LINE_COLUMN} LIMIT {EXAMPLES}"""
            ).fetchall()
            out.append(
                Tally(
                    import_source(self.kind),
                    reason,
                    int(row[0]),
                    [
                        {"file": f, "line": line, **dict(zip(self.timed, rest, strict=True))}
                        for f, line, *rest in examples
                    ],
                )
            )
        return out

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
