"""Column mappings: target fields per kind, flags, saved mapping files and presets."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenure.i18n import translate
from tenure.ingest.files.errors import (
    BadMapping,
    MappingFileNotSaved,
    MappingFileUnreadable,
    UnknownTimezone,
)

ORDER_FIELDS = ("order_id", "user_id", "ts", "amount", "status", "currency", "channel")
LINE_FIELDS = ("sku", "quantity", "unit_price", "line_total", "category", "name")
FIELDS: dict[str, tuple[str, ...]] = {
    "orders": (*ORDER_FIELDS, *LINE_FIELDS, "country"),
    "events": (
        "event_id",
        "type",
        "user_id",
        "anonymous_id",
        "name",
        "ts",
        "properties",
        "received_at",
    ),
    "users": ("user_id", "signup_at", "first_seen", "channel", "country", "birthday", "attributes"),
    "items": ("sku", "name", "category", "price", "attributes"),
    "spend": ("day", "channel", "amount", "currency"),
}
KINDS = tuple(FIELDS)


@dataclass(frozen=True)
class Mapping:
    """How a file's columns become Tenure fields, and how its values are read."""

    columns: dict[str, str] = field(default_factory=dict)  # source column -> target field
    date_format: str | None = None  # strptime format, or epoch / epoch_ms
    timezone: str | None = None  # IANA name of the zone of naive timestamps
    currency: str | None = None
    refund_prefix: str | None = None  # order ids starting with it are refunds (UCI "C…")
    drop: tuple[str, ...] = ()  # source columns to ignore entirely

    def target_of(self, kind: str, column: str) -> str | None:
        """The field a source column feeds, by explicit mapping or by an identical name."""
        if column in self.drop:
            return None
        if column in self.columns:
            return self.columns[column]
        lowered = column.strip().lower()
        if lowered in FIELDS[kind] and lowered not in self.columns.values():
            return lowered
        return None

    def merged(self, other: Mapping) -> Mapping:
        """This mapping with `other`'s settings taking precedence."""
        return replace(
            self,
            columns={**self.columns, **other.columns},
            date_format=other.date_format or self.date_format,
            timezone=other.timezone or self.timezone,
            currency=other.currency or self.currency,
            refund_prefix=other.refund_prefix or self.refund_prefix,
            drop=tuple(dict.fromkeys((*self.drop, *other.drop))),
        )

    def validate(self, kind: str) -> None:
        """Raise if a mapping names a field the kind does not have, or an unknown time zone."""
        for source, target in self.columns.items():
            if target not in FIELDS[kind]:
                raise BadMapping(
                    column=source, field=target, kind=kind, allowed=", ".join(FIELDS[kind])
                )
        self.zone(ZoneInfo("UTC"))

    def zone(self, default: ZoneInfo) -> ZoneInfo:
        """The zone naive timestamps are read in: the mapping's own, else `default`."""
        if not self.timezone:
            return default
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise UnknownTimezone(zone=self.timezone) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, the format of --mapping files."""
        data: dict[str, Any] = {"columns": dict(self.columns)}
        for key in ("date_format", "timezone", "currency", "refund_prefix"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.drop:
            data["drop"] = list(self.drop)
        return data


def parse_flags(flags: list[str]) -> dict[str, str]:
    """`Source=target` flags as a dict."""
    columns: dict[str, str] = {}
    for flag in flags:
        source, sep, target = flag.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise BadMapping(column=flag, field="?", kind="--map", allowed="Source=target")
        columns[source.strip()] = target.strip()
    return columns


def load_mapping_file(path: Path) -> Mapping:
    """A mapping saved as JSON or TOML; MappingFileUnreadable names what is wrong with it."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise MappingFileUnreadable(file=str(path), reason=exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise _unreadable(path, "not_text") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(path, "not_json", problem=exc.msg, line=exc.lineno) from None
    except tomllib.TOMLDecodeError as exc:
        raise _unreadable(path, "not_toml", problem=str(exc)) from None
    if not isinstance(data, dict):
        raise _unreadable(path, "not_object")
    columns, drop = data.get("columns", {}), data.get("drop", [])
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise _unreadable(path, "bad_columns")
    if not isinstance(drop, list) or not all(isinstance(c, str) for c in drop):
        raise _unreadable(path, "bad_drop")
    settings = {key: data.get(key) for key in ("date_format", "timezone", "currency")}
    settings["refund_prefix"] = data.get("refund_prefix")
    for key, value in settings.items():
        if value is not None and not isinstance(value, str):
            raise _unreadable(path, "bad_value", setting=key)
    return Mapping(columns=dict(columns), drop=tuple(drop), **settings)


def save_mapping_file(path: Path, mapping: Mapping) -> None:
    """Write a mapping as JSON, the format --mapping reads; MappingFileNotSaved if it cannot."""
    try:
        path.write_text(json.dumps(mapping.to_dict(), indent=2) + "\n", "utf-8")
    except OSError as exc:
        raise MappingFileNotSaved(file=str(path), reason=exc.strerror or str(exc)) from None


def _unreadable(path: Path, reason: str, **data: Any) -> MappingFileUnreadable:
    text = translate(f"import.mapping_file.{reason}", **data)
    return MappingFileUnreadable(file=str(path), reason=text)


PRESETS: dict[str, dict[str, Mapping]] = {
    # UCI Online Retail: one row per invoice line; "C…" invoices cancel earlier lines.
    "online-retail": {
        "orders": Mapping(
            columns={
                "InvoiceNo": "order_id",
                "StockCode": "sku",
                "Description": "name",
                "Quantity": "quantity",
                "InvoiceDate": "ts",
                "UnitPrice": "unit_price",
                "CustomerID": "user_id",
                "Country": "country",
            },
            date_format="%Y-%m-%d %H:%M:%S",
            timezone="Europe/London",
            currency="GBP",
            refund_prefix="C",
        )
    },
    # CDNOW master: one row per purchase, no order id (one is derived from the row's content).
    "cdnow": {
        "orders": Mapping(
            columns={"customer_id": "user_id", "date": "ts", "dollar_value": "amount"},
            date_format="%Y%m%d",
            timezone="UTC",
            currency="USD",
        )
    },
}


def preset(name: str, kind: str) -> Mapping:
    """The preset mapping for a kind."""
    if name not in PRESETS or kind not in PRESETS[name]:
        known = ", ".join(f"{p} ({', '.join(k)})" for p, k in PRESETS.items())
        raise BadMapping(column=name, field=kind, kind="--preset", allowed=known)
    return PRESETS[name][kind]
