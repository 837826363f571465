"""Small hand-made files for import tests."""

from __future__ import annotations

from pathlib import Path

LINES_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


def write(path: Path, text: str) -> Path:
    """Write a file (dedented lines) and return its path."""
    path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n", "utf-8")
    return path


def retail_file(path: Path, *rows: str) -> Path:
    """An Online-Retail-shaped file with the given data rows."""
    return write(path, "\n".join([LINES_HEADER, *rows]))
