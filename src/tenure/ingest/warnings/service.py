"""Recording what ingestion clamped or refused, in a table that a flood cannot grow.

Each decision adds to one counter per (UTC day, source, reason) and, while the row has fewer
than EXAMPLES, keeps an example; days older than KEEP_DAYS are forgotten when a new day starts.
So the table holds at most sources x reasons x KEEP_DAYS rows, however many bad events arrive.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tenure.ingest.warnings import repository
from tenure.ingest.warnings.models import IngestionWarning

TRACKING = "tracking"
# A tracked time more than the tolerance after its arrival: stored as the arrival time.
FUTURE_CLAMPED = "future_clamped"
# A time before the earliest plausible time: the message or the file row is refused.
TOO_EARLY = "too_early"
# An imported time more than the tolerance after the import: the file row is rejected.
TOO_LATE = "too_late"
EXAMPLES = 5
KEEP_DAYS = 90
_TEXT = 120


def import_source(kind: str) -> str:
    """The source name of a file import of one kind (`import:orders`)."""
    return f"import:{kind}"


@dataclass(frozen=True)
class Decision:
    """One clamp or refusal: where it came from, why, and what identifies the case."""

    source: str
    reason: str
    example: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """Decisions of one source and reason: how many, and the first few examples."""

    source: str
    reason: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)


def tally(decisions: Sequence[Decision]) -> list[Tally]:
    """Decisions grouped by source and reason."""
    grouped: dict[tuple[str, str], list[Decision]] = {}
    for decision in decisions:
        grouped.setdefault((decision.source, decision.reason), []).append(decision)
    return [
        Tally(source, reason, len(found), [d.example for d in found[:EXAMPLES]])
        for (source, reason), found in grouped.items()
    ]


def _example(example: dict[str, Any]) -> dict[str, Any]:
    """An example cut to size: whatever a sender put in a field, a row stays small."""
    return {
        str(k)[:40]: v[:_TEXT] if isinstance(v, str) else v
        for k, v in list(example.items())[:6]
        if v is None or isinstance(v, str | int | float | bool)
    }


def record(session: Session, tallies: Sequence[Tally], at: datetime) -> None:
    """Add tallies of decisions taken at `at` to their day's counters (the caller commits)."""
    day = at.astimezone(UTC).date()
    # One order of row locks for every writer: two batches never wait on each other in a cycle.
    for item in sorted(tallies, key=lambda t: (t.source, t.reason)):
        if item.count <= 0:
            continue
        examples = [_example(e) for e in item.examples[:EXAMPLES]]
        row = repository.find(session, day, item.source, item.reason)
        if row is None:
            repository.prune(session, day - timedelta(days=KEEP_DAYS))
            repository.add(
                session,
                IngestionWarning(
                    day=day,
                    source=item.source,
                    reason=item.reason,
                    count=item.count,
                    first_at=at,
                    last_at=at,
                    examples=json.dumps(examples),
                ),
            )
            continue
        row.count += item.count
        row.last_at = max(row.last_at, at)
        kept = json.loads(row.examples)
        if len(kept) < EXAMPLES:
            row.examples = json.dumps(kept + examples[: EXAMPLES - len(kept)])


def recent(session: Session, today: date, days: int, limit: int = 1000) -> list[IngestionWarning]:
    """The rows of the last `days` days up to `today`, newest day first."""
    return repository.since(session, today - timedelta(days=days - 1), limit)
