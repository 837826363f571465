"""Ingestion warnings over HTTP and in `tenure status`."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from tenure.ingest.warnings.models import IngestionWarning


class IngestionWarningOut(BaseModel):
    """How often one decision was taken for one source on one UTC day, with examples."""

    day: date
    source: str = Field(description="`tracking`, or `import:<kind>` for a file import.")
    reason: str = Field(
        description="`future_clamped`, `too_early`, `too_late`, or `new_currency` (orders "
        "arrived in a second currency)."
    )
    count: int
    first_at: datetime
    last_at: datetime
    examples: list[dict[str, Any]] = Field(description="The first few cases of the day.")

    @classmethod
    def of(cls, row: IngestionWarning) -> IngestionWarningOut:
        """From a stored row."""
        return cls(
            day=row.day,
            source=row.source,
            reason=row.reason,
            count=row.count,
            first_at=row.first_at,
            last_at=row.last_at,
            examples=json.loads(row.examples),
        )


class IngestionWarningsOut(BaseModel):
    """The window of plausible times and what ingestion did about times outside it."""

    earliest_event_time: datetime
    future_tolerance_seconds: float
    days: int
    warnings: list[IngestionWarningOut]
