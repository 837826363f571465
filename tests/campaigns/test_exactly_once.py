"""Two real `tenure worker` processes on PostgreSQL, one killed with SIGKILL mid-send.

Every user must end with exactly one message per step at the SMTP server (counted by
Message-ID, the way a mailbox provider de-duplicates), nothing may be lost after the restart,
and a repeat at the wire can only be a message the killed worker had sent but not yet recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenure.campaigns import policy
from tenure.campaigns.models import Message
from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import add_users, campaign_doc, reachable, start, user_ids
from tests.campaigns.smtp_sink import SmtpSink
from tests.serving import tenure_env

USERS = 1500
THREADS = 4
# One after another on one xdist worker: these start many interpreters each, and a stop
# measured against a deadline should not share two cores with its own siblings.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("processes")]


def _worker(home: Path, pg_url: str, sink: SmtpSink, log: Path) -> subprocess.Popen[bytes]:
    env = tenure_env(
        home, TENURE_DATABASE_URL=pg_url, TENURE_SMTP_URL=sink.url,
        TENURE_CAMPAIGN_LEASE_SECONDS="4", TENURE_TIMEZONE="Asia/Shanghai",
        TENURE_CAMPAIGN_SEND_THREADS=str(THREADS),
    )  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tenure", "worker", "--poll", "3600", "--dispatch-every", "0.2"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _statuses(database: Database) -> dict[str, int]:
    stmt = select(Message.status, func.count()).group_by(Message.status)
    return database.read(lambda s: {k: int(v) for k, v in s.execute(stmt)})


def _until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_kill_9_mid_send_loses_nothing_and_sends_each_step_once(
    home: Path, pg_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=home, database_url=pg_url, timezone="Asia/Shanghai")
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    warehouse = Warehouse(settings)
    warehouse.init()
    ids = user_ids(USERS)
    add_users(warehouse, ids)
    reachable(database, ids)
    # Caps and quiet hours would spread the sends over days; this test is about delivery.
    database.write(
        lambda s: policy.save(s, {"caps": [], "quiet_hours": None, "control_share": 0}, utc_now())
    )
    doc = campaign_doc(steps=[
        campaign_doc()["steps"][0],
        {"id": "second", "type": "send", "channel": "email", "content": {"subject": "Two", "text": "Again"}},
    ])  # fmt: skip
    start(database, doc, utc_now())
    log = tmp_path / "workers.log"
    with SmtpSink() as sink:
        first, second = _worker(home, pg_url, sink, log), _worker(home, pg_url, sink, log)
        try:
            assert _until(lambda: len(sink.messages) >= 150, 120), log.read_text()
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            killed_at = len(sink.messages)
            third = _worker(home, pg_url, sink, log)
            done = _until(lambda: _statuses(database).get("sent", 0) == 2 * USERS, 120)
            statuses = _statuses(database)
        finally:
            for proc in (first, second, locals().get("third")):
                if proc is not None and proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(15)
        assert done, (statuses, log.read_text()[-3000:])
        ids_seen = Counter(str(m["Message-ID"]) for m in sink.messages)
        per_user = Counter(
            str(m["To"]) for m in {str(m["Message-ID"]): m for m in sink.messages}.values()
        )

    assert 0 < killed_at < 2 * USERS, "the kill must land mid-run"
    assert statuses == {"sent": 2 * USERS}
    assert len(ids_seen) == 2 * USERS and set(per_user.values()) == {2}
    repeats = sum(n - 1 for n in ids_seen.values())
    # Only what the killed worker had sent but not yet recorded may go out again: at most one
    # message per send thread and the group being committed, each with the same Message-ID.
    assert repeats <= 2 * THREADS, f"saw {repeats} repeats"
    assert "Traceback" not in log.read_text()
