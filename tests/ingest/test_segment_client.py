"""End to end: the official Segment Python client against a real `tenure serve`, beside the CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import segment.analytics as segment_analytics
from segment.analytics.client import Client

from tests.ingest.builders import retail_file
from tests.serving import run_cli, running_server


def _key(home: Path, scope: str) -> str:
    result = run_cli(home, "keys", "create", "--scope", scope, "--json")
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["secret"])


def _status(home: Path) -> dict[str, int]:
    result = run_cli(home, "status", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture
def served_home(home: Path) -> Path:
    assert run_cli(home, "init").returncode == 0
    return home


def test_official_segment_client_events_reach_the_warehouse(served_home: Path) -> None:
    key = _key(served_home, "write")
    errors: list[object] = []
    with running_server(served_home, TENURE_INBOX_FLUSH_SECONDS="0.5") as url:
        client = Client(
            write_key=key,
            host=url,
            sync_mode=False,
            on_error=lambda e, b: errors.append(e),
            max_retries=1,
            upload_size=50,
        )
        client.identify("carol", {"email": "c@example.com", "country": "DE"}, anonymous_id="anon-c")
        for i in range(120):
            client.track("carol", "Product Viewed", {"sku": f"s{i % 7}", "price": 9.5})
        client.page("carol", "Shop", "Home")
        client.track(
            "carol",
            "Order Completed",
            {
                "order_id": "SEG-1",
                "total": 19.0,
                "products": [{"product_id": "s1", "price": 9.5, "quantity": 2}],
            },
        )
        client.alias("carol-old", "carol")
        client.flush()
        client.join()
        assert errors == []
        deadline = time.monotonic() + 30
        while _status(served_home)["tracking_inbox"] and time.monotonic() < deadline:
            time.sleep(0.5)
    status = _status(served_home)
    assert status["tracking_inbox"] == 0
    assert status["events"] == 1 + 120 + 1 + 1 + 1
    assert status["orders"] == 1
    assert segment_analytics.__name__  # the official package, not a stand-in


def test_cli_and_server_work_on_the_embedded_warehouse_at_the_same_time(
    served_home: Path, tmp_path: Path
) -> None:
    key = _key(served_home, "write")
    files = []
    for day in range(6):
        rows = [
            f"{day}{i:05d},A,Mug,1,2024-01-0{day + 1} 10:00:00,1.00,{i},UK" for i in range(3000)
        ]
        files.append(retail_file(tmp_path / f"d{day}.csv", *rows))
    sent = 0
    failures: list[str] = []
    with running_server(served_home, TENURE_INBOX_FLUSH_SECONDS="0.2") as url:
        client = Client(
            write_key=key, host=url, sync_mode=True, on_error=lambda e, b: failures.append(str(e))
        )

        def send() -> None:
            nonlocal sent
            for i in range(300):
                client.track(f"user-{i % 17}", "Clicked", {"i": i})
                sent += 1

        sender = threading.Thread(target=send)
        sender.start()
        # Imports (writers) and status reads run while the server keeps flushing into DuckDB.
        for path in files:
            result = run_cli(
                served_home,
                "import",
                "orders",
                str(path),
                "--preset",
                "online-retail",
                "--format",
                "json",
            )
            assert result.returncode == 0, result.stderr
            assert _status(served_home)["orders"] >= 3000
        sender.join()
        assert failures == []
        run_cli(served_home, "flush")
    status = _status(served_home)
    assert status["orders"] == 6 * 3000
    assert status["events"] == sent == 300


def test_official_client_with_gzip_batches_reaches_the_warehouse(served_home: Path) -> None:
    # Issue 12: compressed batches were refused with 400 malformed_json and retried forever.
    key = _key(served_home, "write")
    errors: list[object] = []
    with running_server(served_home, TENURE_INBOX_FLUSH_SECONDS="0.5") as url:
        client = Client(
            write_key=key,
            host=url,
            gzip=True,
            sync_mode=False,
            upload_size=25,
            max_retries=1,
            on_error=lambda e, b: errors.append(e),
        )
        for i in range(100):
            client.track(f"zip-{i % 9}", "Zipped Event", {"i": i, "note": "压缩"})
        client.flush()
        client.join()
        assert errors == []
        deadline = time.monotonic() + 30
        while _status(served_home)["tracking_inbox"] and time.monotonic() < deadline:
            time.sleep(0.5)
    assert _status(served_home)["events"] == 100
