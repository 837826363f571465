"""The campaign engine's loop: run due audiences, advance journeys, deliver the outbox.

Any number of workers run it at once (`tenure worker`): audiences lock their campaign row,
journeys and the outbox lease rows with `SKIP LOCKED`. Each pass reads the warehouse first
(audiences, orders since entry, profiles) and then writes the database in short units of work,
so a DuckDB read never holds the SQLite writer lock.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tenure.campaigns import facts, repository
from tenure.campaigns import policy as shop_policy
from tenure.campaigns.channels.base import Envelope, Outcome, Sender
from tenure.campaigns.channels.shophook import post_event
from tenure.campaigns.errors import TemplateInvalid, UserUnknown
from tenure.campaigns.schedule import next_run
from tenure.campaigns.service import campaigns as docs
from tenure.campaigns.service import delivery, enroll, journeys, render
from tenure.campaigns.service.links import Links
from tenure.campaigns.settler import Settler
from tenure.campaigns.spec import Branch, Campaign, Send, parse_duration
from tenure.campaigns.triggers import Scan, Scanner
from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
UNIT = 5000  # enrolments per unit of work: long passes commit as they go


@dataclass
class Pass:
    """What one pass of the engine did."""

    entered: int = 0
    advanced: int = 0
    queued: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dispatcher:
    """The engine over one installation's stores and channels."""

    settings: Settings
    database: Database
    warehouse: Warehouse
    senders: dict[str, Sender]
    links: Links | None
    worker: str
    batch: int = 500
    threads: int = 1

    @property
    def lease(self) -> timedelta:
        """How long a claimed message stays this worker's."""
        return timedelta(seconds=self.settings.campaign_lease_seconds)

    # ---- arrivals ----------------------------------------------------------------------

    def run_entries(self, now: datetime) -> int:
        """Enter the audiences of due campaigns and the users their triggers fired for."""
        due = self.database.read(lambda s: _due_scans(s, now))
        return sum(
            self._scan(key, version, cursor, started, now) for key, version, cursor, started in due
        )

    def _scan(
        self, key: str, version: int, cursor: str | None, started: datetime, now: datetime
    ) -> int:
        campaign = self.database.read(lambda s: docs.document_of(s, key, version))
        scanner = Scanner(self.database, self.warehouse, self.settings.zone)
        found = scanner.scan(campaign, cursor, started, now)
        return self.database.write(lambda s: self._enter(s, key, cursor, found, now))

    def _enter(
        self, session: Session, key: str, cursor: str | None, found: Scan, now: datetime
    ) -> int:
        row = repository.campaign(session, key, lock=True)
        due = row is not None and row.status == "active" and row.next_run_at is not None
        if row is None or row.next_run_at is None or not due or row.next_run_at > now:
            return 0
        if row.cursor != cursor:
            return 0  # another worker scanned it first, or it was paused meanwhile
        campaign = docs.document_of(session, key, row.version)
        share = shop_policy.current(session).control_share
        result = enroll.enroll(session, campaign, row.version, found.arrivals, now, share)
        row.cursor = found.cursor
        row.next_run_at = next_run(campaign.trigger, now, self.settings.zone)
        return result.entered

    # ---- journeys ----------------------------------------------------------------------

    def advance(self, now: datetime) -> Pass:
        """Move due users through their journeys; returns how many moved and queued."""
        due = self.database.read(lambda s: repository.due_enrollments(s, now, self.batch))
        if not due:
            return Pass()
        versions = {(key, version) for *_, key, version in due}
        documents = self.database.read(lambda s: {kv: docs.document_of(s, *kv) for kv in versions})
        needs_orders = [
            (i, u, at) for i, u, at, key, version in due if _needs_orders(documents[(key, version)])
        ]
        ordered: set[int] = set()
        if needs_orders:
            with self.warehouse.reader() as con:
                ordered = facts.ordered_since(con, needs_orders)
        done = Pass()
        ids = [i for i, *_ in due]
        for start in range(0, len(ids), UNIT):
            moved = self._advance_unit(ids[start : start + UNIT], ordered, documents, now)
            done.advanced, done.queued = done.advanced + moved.advanced, done.queued + moved.queued
        return done

    def _advance_unit(
        self,
        ids: list[int],
        ordered: set[int],
        documents: dict[tuple[str, int], Campaign],
        now: datetime,
    ) -> Pass:
        return self.database.write(lambda s: self._advance(s, ids, ordered, documents, now))

    def _advance(
        self,
        session: Session,
        ids: list[int],
        ordered: set[int],
        documents: dict[tuple[str, int], Campaign],
        now: datetime,
    ) -> Pass:
        rows = repository.lock_enrollments(session, ids, now)
        users = sorted({r.user_id for r in rows})
        contacts = repository.contacts(session, users)
        addresses = [
            (channel, address)
            for c in contacts.values()
            for channel, field in journeys.ADDRESS.items()
            if (address := getattr(c, field))
        ]
        batch = journeys.Batch(
            now=now, zone=self.settings.zone, contacts=contacts,
            consents=repository.consents(session, users),
            suppressed=repository.suppressed(session, addresses), ordered=ordered,
        )  # fmt: skip
        for row in rows:
            journeys.advance(session, batch, row, documents[(row.campaign_key, row.version)])
        seen = repository.existing_messages(session, [m["id"] for m in batch.messages])
        fresh = [m for m in batch.messages if m["id"] not in seen]
        repository.insert_messages(session, fresh)
        repository.insert_decisions(session, batch.decisions)
        return Pass(advanced=len(rows), queued=len(fresh))

    # ---- delivery ----------------------------------------------------------------------

    def deliver(self, now: datetime) -> Pass:
        """Send the due messages the guardrails allow; settle each as soon as it is sent."""
        zone = self.settings.zone
        # The lease runs on the wall clock even when a test passes a fixed `now`.
        until = max(now, utc_now()) + self.lease
        claimed = self.database.write(
            lambda s: delivery.claim(s, now, self.worker, until, self.batch, zone)
        )
        result = Pass(details={"claimed": len(claimed)})
        if not claimed:
            return result
        with self.warehouse.reader() as con:
            profiles = facts.profiles(con, sorted({c.user_id for c in claimed}))
        known = self.database.read(lambda s: render.gather(s, claimed, zone, self.settings))
        held = {c.id for c in claimed}
        renew_at = utc_now() + self.lease / 3
        step = self.threads * 8
        with (
            Settler(self.database, self.worker) as settler,
            ThreadPoolExecutor(self.threads, thread_name_prefix="send") as pool,
        ):
            for start in range(0, len(claimed), step):
                if utc_now() >= renew_at:
                    # Renew before a third of the lease is left: a slow batch must not let
                    # another worker take (and send) what this one is about to send.
                    held = self._renew([m.id for m in claimed[start:] if m.id in held])
                    renew_at = utc_now() + self.lease / 3
                # A message whose lease ran out belongs to another worker now.
                chunk = [m for m in claimed[start : start + step] if m.id in held]
                for outcome in pool.map(
                    lambda m: self._send_one(m, known, profiles.get(m.user_id, {}), settler),
                    chunk,
                ):
                    if outcome.status == "sent":
                        result.sent += 1
                    else:
                        result.failed += 1
        return result

    def _renew(self, ids: list[str]) -> set[str]:
        return self.database.write(
            lambda s: delivery.renew(s, ids, self.worker, utc_now() + self.lease)
        )

    def _send_one(
        self,
        message: delivery.Claimed,
        known: render.Facts,
        profile: dict[str, Any],
        settler: Settler,
    ) -> Outcome:
        now = utc_now()
        if message.channel == "webhook":
            return self._settle(settler, message, self._webhook(message))
        try:
            envelope, step = render.envelope(
                known, message, profile, now, self.links, self.settings.zone, self.settings.locale
            )
        except TemplateInvalid as exc:
            outcome = Outcome("failed", reason=f"template: {exc.message}")
            return self._settle(settler, message, outcome)
        if message.channel == "inbox":
            expires = now + parse_duration(step.expires_after) if step.expires_after else None
            item = delivery.InboxContent(envelope.title, envelope.text, envelope.url, expires)
            self.database.write(
                lambda s: delivery.deliver_inbox(s, message, item, utc_now(), self.worker)
            )
            return Outcome("sent", provider_id="inbox")
        sender = self.senders.get(message.channel)
        if sender is None:
            missing = Outcome("retry", reason=f"no {message.channel} provider configured")
            return self._settle(settler, message, missing)
        try:
            outcome = sender.send(envelope)
        except Exception as exc:  # a sender's own bug must not stop the loop or lose the message
            log.exception("sender %s failed", message.channel)
            outcome = Outcome("retry", reason=f"{type(exc).__name__}: {exc}")
        return self._settle(settler, message, outcome)

    def _settle(self, settler: Settler, message: delivery.Claimed, outcome: Outcome) -> Outcome:
        settler.put(message, outcome)
        return outcome

    def _webhook(self, message: delivery.Claimed) -> Outcome:
        payload = {"message_id": message.id, "campaign": message.campaign_key,
                   "step": message.step_id, "user_id": message.user_id}  # fmt: skip
        return post_event(message.address, payload, message.id)

    # ---- preview -----------------------------------------------------------------------

    def preview(self, key: str, user_id: str, now: datetime) -> list[tuple[str, Envelope]]:
        """Every send step of a campaign rendered for one user, as it would go out now."""
        row, campaign = self.database.read(lambda s: docs.get(s, key))
        with self.warehouse.reader() as con:
            profile = facts.profiles(con, [user_id]).get(user_id)
        if profile is None:
            raise UserUnknown(user_id=user_id)
        contact = self.database.read(lambda s: repository.contacts(s, [user_id])).get(user_id)
        out = []
        for step in campaign.steps:
            if not isinstance(step, Send):
                continue
            address = (
                getattr(contact, journeys.ADDRESS.get(step.channel, ""), None) if contact else None
            )
            message = delivery.Claimed(
                id="preview", campaign_key=key, version=row.version, step_id=step.id,
                user_id=user_id, enrollment_id=0, channel=step.channel,
                address=address or (user_id if step.channel == "inbox" else ""),
                locale=contact.locale if contact else None, attempts=0,
            )  # fmt: skip
            out.append((step.id, self._render(message, profile, now)))
        return out

    def _render(
        self, message: delivery.Claimed, profile: dict[str, Any], now: datetime
    ) -> Envelope:
        zone = self.settings.zone
        known = self.database.read(lambda s: render.gather(s, [message], zone, self.settings))
        envelope, _ = render.envelope(
            known, message, profile, now, self.links, zone, self.settings.locale
        )
        return envelope

    # ---- one pass ----------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> Pass:
        """Audiences, then journeys, then delivery."""
        moment = now or utc_now()
        entered = self.run_entries(moment)
        moved = self.advance(moment)
        sent = self.deliver(moment)
        return Pass(
            entered=entered, advanced=moved.advanced, queued=moved.queued, sent=sent.sent,
            failed=sent.failed, details=sent.details,
        )  # fmt: skip


def _needs_orders(campaign: Campaign) -> bool:
    """Whether a journey asks if the user ordered (an exit or a branch)."""
    return campaign.exits.on_order or any(
        isinstance(s, Branch) and s.condition.ordered is not None for s in campaign.steps
    )


def loop(dispatcher: Dispatcher, stop: threading.Event, every: float) -> None:
    """Pass after pass until `stop` is set; idle passes wait `every` seconds.

    A failing pass (the warehouse busy, the database restarting) is logged and tried again on
    the next tick: the leases it held run out and nothing it did half-way was committed.
    """
    while not stop.is_set():
        try:
            done = dispatcher.run_once()
        except Exception:
            log.exception("campaign pass failed; trying again")
            done = Pass()
        busy = done.entered or done.advanced or done.details.get("claimed")
        if not busy:
            stop.wait(every)
    for sender in dispatcher.senders.values():
        sender.close()


def _due_scans(session: Session, now: datetime) -> list[tuple[str, int, str | None, datetime]]:
    """(key, version, cursor, started) of active campaigns whose scan is due."""
    return [
        (c.key, c.version, c.cursor, c.started_at or now)
        for c in repository.campaigns(session, "active")
        if c.next_run_at is not None and c.next_run_at <= now
    ]
