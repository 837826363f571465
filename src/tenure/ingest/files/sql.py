"""DuckDB SQL fragments that parse text columns and explain why a value is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tenure.i18n import translate

_OFFSET = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
STATUS_SYNONYMS = {
    "paid": (
        "paid",
        "completed",
        "complete",
        "success",
        "succeeded",
        "fulfilled",
        "shipped",
        "delivered",
        "closed",
        "processing",
    ),
    "refunded": ("refunded", "refund", "returned", "return", "chargeback"),
    "cancelled": ("cancelled", "canceled", "void", "voided", "failed"),
}


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def text(column: str | None) -> str:
    """Trimmed text, empty as NULL."""
    return "NULL::VARCHAR" if column is None else f"nullif(trim({quote(column)}), '')"


def identifier(column: str | None) -> str:
    """An id, with spreadsheet float ids such as `17850.0` read as `17850`."""
    return f"regexp_replace({text(column)}, '^(-?\\d+)\\.0+$', '\\1')"


def timestamp(raw: str, date_format: str | None, zone: ZoneInfo) -> str:
    """A TIMESTAMPTZ from text: explicit offsets kept, naive times read in `zone`."""
    name = literal(zone.key)
    if date_format == "epoch":
        return f"to_timestamp(TRY_CAST({raw} AS DOUBLE))"
    if date_format == "epoch_ms":
        return f"to_timestamp(TRY_CAST({raw} AS DOUBLE) / 1000.0)"
    if date_format:
        parsed = f"try_strptime({raw}, {literal(date_format)})"
        return parsed if "%z" in date_format else f"timezone({name}, {parsed})"
    return (
        f"CASE WHEN regexp_matches({raw}, {literal(_OFFSET)}) "
        f"THEN TRY_CAST({raw} AS TIMESTAMPTZ) "
        f"ELSE timezone({name}, TRY_CAST({raw} AS TIMESTAMP)) END"
    )


def money(raw: str) -> str:
    """A DECIMAL(18,4) amount."""
    return f"TRY_CAST({raw} AS DECIMAL(18, 4))"


def integer(raw: str) -> str:
    """A BIGINT, accepting `6.0` but not `6.5`."""
    as_double = f"TRY_CAST({raw} AS DOUBLE)"
    return f"CASE WHEN {as_double} = floor({as_double}) THEN CAST({as_double} AS BIGINT) END"


def status(raw: str) -> str:
    """An order status from common synonyms; NULL when unknown."""
    cases = " ".join(
        f"WHEN lower({raw}) IN ({', '.join(literal(s) for s in synonyms)}) THEN {literal(target)}"
        for target, synonyms in STATUS_SYNONYMS.items()
    )
    return f"CASE {cases} END"


def date(raw: str) -> str:
    """A DATE from ISO text or a timestamp."""
    return f"coalesce(TRY_CAST({raw} AS DATE), TRY_CAST(TRY_CAST({raw} AS TIMESTAMP) AS DATE))"


@dataclass(frozen=True)
class Check:
    """A rejection rule: when `failed` is true, the row is rejected with `reason`."""

    failed: str
    reason: str

    @staticmethod
    def unreadable(field: str, raw: str, parsed: str, what: str) -> Check:
        """The raw value is present but does not parse."""
        message = translate("import.reason.unreadable", field=field, what=what)
        return Check(
            f"{raw} IS NOT NULL AND {parsed} IS NULL", f"{literal(message + ' ')} || {raw}"
        )

    @staticmethod
    def missing(field: str, raw: str) -> Check:
        """A required value is empty."""
        return Check(f"{raw} IS NULL", literal(translate("import.reason.missing", field=field)))

    @staticmethod
    def rule(failed: str, key: str, **values: str) -> Check:
        """Any other rule, its message from the catalogue."""
        return Check(failed, literal(translate(f"import.reason.{key}", **values)))


def reasons(checks: list[Check]) -> str:
    """One text column: every failed check's reason, `; `-separated, NULL when all pass."""
    if not checks:
        return "NULL::VARCHAR"
    parts = ", ".join(f"CASE WHEN {c.failed} THEN {c.reason} END" for c in checks)
    return f"nullif(concat_ws('; ', {parts}), '')"


def json_object(columns: list[str]) -> str:
    """A JSON object of text columns (the unmapped ones), NULL when there are none."""
    if not columns:
        return "NULL::VARCHAR"
    fields = ", ".join(f"{quote(c)} := {text(c)}" for c in columns)
    return f"CAST(to_json(struct_pack({fields})) AS VARCHAR)"
