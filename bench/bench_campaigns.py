"""Campaign speed: a large audience entering a campaign, and e-mail delivery to an SMTP server.

1. audience: N users (default 1,000,000) enter a one-off e-mail campaign: read the audience,
   hash the holdout and global control, check address, consent and suppression, queue the
   outbox rows and record every decision. The baseline is what a user would write by hand
   with pandas: read users and consent, draw a random holdout, and `to_sql` the outbox.
2. delivery: M queued messages (default 5,000) delivered to a local aiosmtpd server by the
   engine (claim under caps and quiet hours, render, send on one connection, settle each),
   against a plain smtplib loop sending the same messages on one connection.

    .venv/bin/python bench/bench_campaigns.py                       # both, about 3 min
    .venv/bin/python bench/bench_campaigns.py --users 200000 --messages 2000
    .venv/bin/python bench/bench_campaigns.py --database postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, table, warn_if_busy, write_results

from tenure.campaigns import policy
from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.dispatch import Dispatcher
from tenure.campaigns.models import Consent, Contact, Message
from tenure.campaigns.service import campaigns
from tenure.config import Settings
from tenure.storage.bulk import insert_rows
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai: outside quiet hours
DOC = {
    "key": "big", "name": "Big send", "holdout": 0.1,
    "steps": [{"id": "mail", "type": "send", "channel": "email", "content": {
        "subject": {"en": "Hello {{ user.first_name }}", "zh-CN": "你好 {{ user.first_name }}"},
        "text": "Hi {{ user.first_name }}, new things for you.",
        "html": "<p>Hi {{ user.first_name }}</p>"}}],
}  # fmt: skip


class Sink:
    """An aiosmtpd server in its own process (as a real mail server would be), counting the
    messages it accepts and their distinct Message-IDs."""

    def __init__(self) -> None:
        self.port = free_port()
        self._ask, self._answer = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve, args=(self.port, self._answer), daemon=True
        )

    def start(self) -> None:
        self._process.start()
        self._ask.recv()  # ready

    def counts(self) -> tuple[int, int]:
        """(messages, distinct Message-IDs) so far."""
        self._ask.send("count")
        answer: tuple[int, int] = self._ask.recv()
        return answer

    def stop(self) -> None:
        self._ask.send("stop")
        self._process.join(10)


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.ids: set[bytes] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        for line in envelope.content.split(b"\r\n", 40):
            if line.lower().startswith(b"message-id:"):
                self.ids.add(line)
                break
        return "250 OK"


def _serve(port: int, channel: Any) -> None:
    counter = _Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    channel.send("ready")
    while (command := channel.recv()) != "stop":
        if command == "count":
            channel.send((counter.count, len(counter.ids)))
    controller.stop()


def _schema(url: str | None, name: str) -> str | None:
    """On PostgreSQL, a fresh schema of its own for each part (dropped and made again)."""
    if url is None or not url.startswith("postgresql"):
        return url
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        con.execute(f'CREATE SCHEMA "{name}"')
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def shop(
    home: Path, url: str | None, users: int
) -> tuple[Settings, Database, Warehouse, list[str]]:
    """A warehouse of `users` users with first names, all with an address and e-mail consent."""
    url = _schema(url, f"bench_{home.name}")
    settings = Settings(home=home, database_url=url, timezone="Asia/Shanghai")
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    warehouse = Warehouse(settings)
    warehouse.init()
    ids = [f"user-{i:07d}" for i in range(users)]
    frame = pd.DataFrame(
        {
            "user_id": ids,
            "first_seen": pd.Timestamp("2025-01-01", tz="UTC"),
            "signup_at": pd.Timestamp("2025-01-01", tz="UTC"),
            "channel": "web",
            "country": "CN",
            "attributes": ['{"first_name": "Ann"}'] * users,
        }
    )
    with warehouse.writer() as writer:
        writer.upsert("users", pa.Table.from_pandas(frame, preserve_index=False))

    def contacts(session: Any) -> None:
        for start in range(0, users, 50_000):
            chunk = ids[start : start + 50_000]
            insert_rows(
                session,
                Contact.__table__,
                [
                    {"user_id": u, "email": f"{u}@example.com", "locale": "en", "updated_at": NOW}
                    for u in chunk
                ],
            )
            insert_rows(
                session,
                Consent.__table__,
                [
                    {
                        "user_id": u,
                        "channel": "email",
                        "status": "opted_in",
                        "source": "bench",
                        "at": NOW,
                    }
                    for u in chunk
                ],
            )
        policy.save(session, {"caps": [{"count": 5, "days": 1}], "quiet_hours": None}, NOW)

    database.write(contacts)
    return settings, database, warehouse, ids


def bench_audience(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    settings, database, warehouse, _ = shop(root / "audience", args.database, args.users)
    database.write(lambda s: campaigns.create(s, DOC, NOW))
    database.write(lambda s: campaigns.transition(s, "big", "start", NOW))
    engine = Dispatcher(settings, database, warehouse, {}, None, "bench")
    started = time.perf_counter()
    entered = engine.run_entries(NOW)
    tenure_s = time.perf_counter() - started
    queued = database.read(lambda s: s.scalar(select(func.count()).select_from(Message)))

    started = time.perf_counter()
    baseline_rows = _pandas_audience(settings, warehouse, root / "pandas.db")
    pandas_s = time.perf_counter() - started
    return {"users": args.users, "entered": entered, "queued": queued, "tenure_s": tenure_s,
            "pandas_s": pandas_s, "pandas_rows": baseline_rows}  # fmt: skip


def _pandas_audience(settings: Settings, warehouse: Warehouse, out: Path) -> int:
    """The hand-written version: users and consent in, a random 10 % holdout, the outbox out."""
    with warehouse.reader() as con:
        users = con.table("users").select("user_id").execute()
    engine = Database(settings.sqlalchemy_url).engine
    with engine.connect() as connection:
        consent = pd.read_sql(
            text("SELECT user_id, status FROM consents WHERE channel = 'email'"), connection
        )
        contacts = pd.read_sql(text("SELECT user_id, email FROM contacts"), connection)
    frame = users.merge(consent, on="user_id").merge(contacts, on="user_id")
    frame = frame[(frame.status == "opted_in") & frame.email.notna()]
    holdout = np.random.default_rng(1).random(len(frame)) < 0.1
    outbox = frame.loc[~holdout, ["user_id", "email"]].assign(status="queued", created_at=NOW)
    with sqlite3.connect(out) as db:
        outbox.to_sql("outbox", db, index=False)
    return len(outbox)


def bench_delivery(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    settings, database, warehouse, ids = shop(root / "delivery", args.database, args.messages)
    doc = dict(DOC, holdout=0.0, global_control=False)
    database.write(lambda s: campaigns.create(s, doc, NOW))
    database.write(lambda s: campaigns.transition(s, "big", "start", NOW))
    sink = Sink()
    sink.start()
    try:
        sender = SmtpSender(
            f"smtp://127.0.0.1:{sink.port}", "shop@example.com", connections=args.threads
        )
        engine = Dispatcher(
            settings, database, warehouse, {"email": sender}, None, "bench", threads=args.threads
        )
        engine.run_entries(NOW)
        started = time.perf_counter()
        while engine.deliver(NOW).details.get("claimed"):
            pass
        tenure_s = time.perf_counter() - started
        sender.close()
        tenure_count, tenure_distinct = sink.counts()
        messages = [_plain(u) for u in ids]
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for message in messages:
                smtp.send_message(message)
        smtplib_s = time.perf_counter() - started
        smtplib_count = sink.counts()[0] - tenure_count
    finally:
        sink.stop()
    return {
        "messages": args.messages, "tenure_delivered": tenure_count,
        "tenure_distinct": tenure_distinct, "smtplib_delivered": smtplib_count,
        "tenure_s": tenure_s, "smtplib_s": smtplib_s, "tenure_per_s": tenure_count / tenure_s,
        "smtplib_per_s": len(messages) / smtplib_s,
    }  # fmt: skip


def bench_latency(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Trigger latency: a tracked event through `tenure serve` (and its flusher) to the queued
    message of an event-triggered campaign, with `tenure worker` running."""
    from bench_checkout import Server, percentiles

    from tenure.apikeys.service import create_key
    from tenure.kit.time import utc_now

    home = root / "latency"
    settings, database, _, _ = shop(home, args.database, 10)
    doc = dict(DOC, key="added", holdout=0.0, global_control=False,
               trigger={"type": "event", "event": "Product Added"},
               steps=[{"id": "note", "type": "send", "channel": "inbox",
                       "content": {"title": "In your cart", "text": "Still there"}}])  # fmt: skip
    database.write(lambda s: campaigns.create(s, doc, utc_now()))
    database.write(lambda s: campaigns.transition(s, "added", "start", utc_now()))
    key = database.write(lambda s: create_key(s, "bench", ["write"])).secret
    env = {**os.environ, "TENURE_HOME": str(home), "TENURE_INBOX_FLUSH_SECONDS": "0.5"}
    if settings.database_url:
        env["TENURE_DATABASE_URL"] = settings.database_url
    env.pop("TENURE_WAREHOUSE", None)
    server = Server(home, env)
    worker = subprocess.Popen([sys.executable, "-m", "tenure", "worker", "--poll", "3600",
                               "--dispatch-every", "0.2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    sent: dict[str, float] = {}
    try:
        time.sleep(5)  # the worker's first pass
        with httpx.Client(base_url=server.url, auth=(key, "")) as client:
            for i in range(args.events):
                user = f"late-{i:05d}"
                sent[user] = time.time()
                body = {"userId": user, "event": "Product Added", "properties": {"sku": "MUG-01"}}
                client.post("/v1/track", json=body).raise_for_status()
                time.sleep(1 / args.rate)
        deadline = time.monotonic() + 60
        queued: dict[str, float] = {}
        while time.monotonic() < deadline and len(queued) < len(sent):
            rows = database.read(
                lambda s: list(s.execute(select(Message.user_id, Message.created_at)))
            )
            queued = {u: at.timestamp() for u, at in rows}
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        server.stop()
    latencies = [queued[u] - t for u, t in sent.items() if u in queued]
    return {"events": len(sent), "queued": len(queued), **percentiles(latencies)}


def _plain(user: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "shop@example.com",
        f"{user}@example.com",
        "Hello Ann",
    )
    message.set_content("Hi Ann, new things for you.")
    message.add_alternative("<p>Hi Ann</p>", subtype="html")
    return message


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: SQLite in the home)"
    )
    parser.add_argument("--only", choices=("audience", "delivery", "latency"))
    parser.add_argument("--events", type=int, default=300, help="tracked events (latency)")
    parser.add_argument("--rate", type=float, default=20.0, help="events a second (latency)")
    parser.add_argument(
        "--threads", type=int, default=4, help="send threads (TENURE_CAMPAIGN_SEND_THREADS)"
    )
    args = parser.parse_args()
    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="bench-campaigns-"))
    results: dict[str, Any] = {"load_average": load, "database": args.database or "sqlite"}
    try:
        if args.only in (None, "audience"):
            a = results["audience"] = bench_audience(args, root)
            print(
                table(
                    ["", "users", "queued", "seconds", "vs pandas"],
                    [
                        [
                            "tenure",
                            a["users"],
                            a["queued"],
                            f"{a['tenure_s']:.1f}",
                            f"{a['tenure_s'] / a['pandas_s']:.2f}x",
                        ],
                        [
                            "pandas by hand",
                            a["users"],
                            a["pandas_rows"],
                            f"{a['pandas_s']:.1f}",
                            "1.00x",
                        ],
                    ],
                )
            )
        if args.only in (None, "delivery"):
            d = results["delivery"] = bench_delivery(args, root)
            print(
                table(
                    ["", "messages", "seconds", "messages/s"],
                    [
                        [
                            "tenure engine",
                            d["tenure_delivered"],
                            f"{d['tenure_s']:.1f}",
                            f"{d['tenure_per_s']:.0f}",
                        ],
                        [
                            "smtplib loop",
                            d["messages"],
                            f"{d['smtplib_s']:.1f}",
                            f"{d['smtplib_per_s']:.0f}",
                        ],
                    ],
                )
            )
        if args.only in (None, "latency"):
            lat = results["latency"] = bench_latency(args, root)
            heads = ["event → queued message", "events", "queued", "p50 ms", "p99 ms", "max ms"]
            print(table(heads, [
                ["tenure serve + worker", lat["events"], lat["queued"], f"{lat['p50_ms']:.0f}",
                 f"{lat['p99_ms']:.0f}", f"{lat['max_ms']:.0f}"]]))  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(write_results("campaigns", results))


if __name__ == "__main__":
    main()
