"""The review e-mail against a real SMTP server (aiosmtpd): each subscribed operator gets exactly
one multipart message in their language; a rerun, a second worker at the same time, or the
scheduled job sends nothing more; a deferred address is retried once, a refused one is not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tenure.config import Settings
from tenure.jobs.catalog import default_registry
from tenure.jobs.registry import JobContext
from tenure.operators.service import create_operator, disable
from tenure.reports.weekly import repository
from tenure.reports.weekly.jobs import send_reviews
from tenure.reports.weekly.mail import ReviewMailUnconfigured, message_id
from tenure.reports.weekly.weeks import Week
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.smtp_sink import SmtpSink

NOW = datetime(2024, 8, 27, 8, 0, tzinfo=UTC)  # a Tuesday: the week of Aug 19 is over
WEEK = Week.of(NOW.date()).previous
PASSWORD = "correct horse battery"
ANN, LI = "ann@example.com", "li@example.com"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def stores(
    review_shop: Settings, database_url: str, sink: SmtpSink
) -> tuple[Settings, Database, Warehouse]:
    """The simulated shop's warehouse, a fresh operational database, the test SMTP server."""
    settings = Settings(
        home=review_shop.home,
        database_url=database_url,
        smtp_url=sink.url,
        email_from="Tenure 复盘 <review@shop.example>",
        public_url="https://console.example",
        inbox_flush_seconds=0,
    )
    database = Database(database_url)
    database.upgrade()

    def operators(session: Any) -> None:
        create_operator(session, "ann", PASSWORD, "admin", NOW, email=ANN, weekly_review=True)
        create_operator(
            session, "li", PASSWORD, "analyst", NOW, locale="zh-CN", email=LI, weekly_review=True
        )
        create_operator(
            session, "bob", PASSWORD, "admin", NOW, email="bob@example.com"
        )  # not subscribed
        create_operator(
            session, "eve", PASSWORD, "admin", NOW, email="eve@example.com", weekly_review=True
        )
        disable(session, "eve", NOW)

    database.write(operators)
    return settings, database, Warehouse(settings)


def _run(stores: tuple[Settings, Database, Warehouse], now: datetime = NOW) -> dict[str, Any]:
    return send_reviews(*stores, now)


def _parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): str(part.get_content())
        for part in message.walk()
        if not part.is_multipart()
    }


def test_each_subscriber_gets_one_message_in_their_language(
    stores: tuple[Settings, Database, Warehouse], sink: SmtpSink
) -> None:
    counts = _run(stores)
    assert counts["sent"] == 2 and counts["subscribers"] == 2
    by = {str(m["To"]): m for m in sink.messages}
    assert sorted(by) == [ANN, LI]
    english, chinese = by[ANN], by[LI]
    assert english["Subject"] == "Weekly review: Aug 19\u2009–\u200925, 2024"
    assert str(chinese["Subject"]).startswith("每周复盘：2024年8月19日")
    assert english.get_content_type() == "multipart/alternative"
    text, html = _parts(english)["text/plain"], _parts(english)["text/html"]
    assert "== Key figures ==" in text and "https://console.example/review?week=2024-08-19" in text
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "net revenue" in html
    zh = _parts(chinese)
    assert "核心指标" in zh["text/plain"] and "核心指标" in zh["text/html"]
    assert "Key figures" not in zh["text/html"]
    assert english["Message-ID"] == f"<{message_id(1, WEEK.start)}@tenure>"

    again = _run(stores)
    assert again["sent"] == 0 and len(sink.messages) == 2
    rows = stores[1].read(lambda s: repository.of_week(s, WEEK.start))
    assert {r.address: (r.status, r.attempts, r.locale) for r in rows.values()} == {
        ANN: ("sent", 1, "en"),
        LI: ("sent", 1, "zh_CN"),
    }


def test_two_workers_at_once_still_send_one_each(
    stores: tuple[Settings, Database, Warehouse], sink: SmtpSink
) -> None:
    results: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        results.append(_run(stores))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2
    assert sorted(str(m["To"]) for m in sink.messages) == [ANN, LI]
    assert sum(r.get("sent", 0) for r in results) == 2


def test_the_scheduled_job_sends_once_per_week(
    stores: tuple[Settings, Database, Warehouse], sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tenure.jobs.catalog as catalog

    spec = default_registry().get("weekly_review")
    assert spec.interval_seconds == 3600
    monkeypatch.setattr(catalog, "utc_now", lambda: NOW)
    context = JobContext(*stores)
    assert spec.run(context)["sent"] == 2
    assert spec.run(context)["sent"] == 0
    assert len(sink.messages) == 2


def test_a_deferred_address_is_tried_again_and_a_refused_one_is_not(
    stores: tuple[Settings, Database, Warehouse], sink: SmtpSink
) -> None:
    sink.defer = {ANN}
    sink.reject = {LI}
    first = _run(stores)
    assert (first.get("retry"), first.get("failed"), len(sink.messages)) == (1, 1, 0)
    sink.defer = set()
    second = _run(stores)
    assert second["sent"] == 1 and [str(m["To"]) for m in sink.messages] == [ANN]
    assert _run(stores)["sent"] == 0 and len(sink.messages) == 1
    rows = stores[1].read(lambda s: repository.of_week(s, WEEK.start))
    assert {r.address: (r.status, r.attempts) for r in rows.values()} == {
        ANN: ("sent", 2),
        LI: ("failed", 1),
    }


def test_it_waits_for_the_data_to_reach_the_end_of_the_week(
    stores: tuple[Settings, Database, Warehouse], sink: SmtpSink
) -> None:
    monday = datetime(2024, 9, 2, 1, 0, tzinfo=UTC)  # the data stops on Aug 27
    assert _run(stores, monday)["waiting_for_data"] is True and sink.messages == []
    later = datetime(2024, 9, 3, 1, 0, tzinfo=UTC)  # a day's grace is over: send what there is
    assert _run(stores, later)["sent"] == 2


def test_without_an_smtp_server_nothing_is_taken(
    stores: tuple[Settings, Database, Warehouse], tmp_path: Path
) -> None:
    settings, database, warehouse = stores
    bare = settings.model_copy(update={"smtp_url": None})
    with pytest.raises(ReviewMailUnconfigured) as caught:
        send_reviews(bare, database, warehouse, NOW)
    assert caught.value.code == "review_smtp_missing" and "TENURE_SMTP_URL" in caught.value.message
    assert database.read(lambda s: repository.of_week(s, WEEK.start)) == {}
