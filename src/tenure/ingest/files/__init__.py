"""File import: CSV, CSV.GZ, Parquet and Excel with column mapping, validated all-or-nothing."""
