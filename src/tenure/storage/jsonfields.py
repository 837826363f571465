"""Reading one field of a JSON text column inside a warehouse query, on DuckDB and on Spark."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json_get(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB: one field of a JSON object as text."""


@ibis.udf.scalar.builtin(name="get_json_object")
def _spark_json_get(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """Spark: one field of a JSON object as text."""


def json_get(doc: ir.StringValue, key: str, backend: str) -> ir.StringValue:
    """The text of top-level field `key` of a JSON object column (null when absent)."""
    path = "$." + key
    if backend == "pyspark":
        return _spark_json_get(doc, path)
    return _duckdb_json_get(doc, path)
