"""The console's page of experiments: newest first, with the total, by status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenure.experiments.service import documents
from tenure.storage.database import Database
from tests.experiments.builders import experiment_doc

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_page_of_experiments_newest_first(database: Database) -> None:
    for i, key in enumerate(("first", "second", "third")):
        doc, at = experiment_doc(key), AT + timedelta(days=i)
        database.write(lambda s, doc=doc, at=at: documents.create(s, doc, at))
    database.write(lambda s: documents.start(s, "second", AT))

    rows, total = database.read(lambda s: documents.listing_page(s, limit=2))
    assert ([r.key for r in rows], total) == (["third", "second"], 3)
    rows, total = database.read(lambda s: documents.listing_page(s, offset=2, limit=2))
    assert ([r.key for r in rows], total) == (["first"], 3)
    rows, total = database.read(lambda s: documents.listing_page(s, status="running"))
    assert ([r.key for r in rows], total) == (["second"], 1)
