"""Saving, versioning and starting / pausing campaigns."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.campaigns import repository, spec
from tenure.campaigns.channels.config import SETTING_OF
from tenure.campaigns.errors import (
    CampaignExists,
    CampaignInvalid,
    CampaignNotFound,
    CampaignStateConflict,
    CampaignVersionConflict,
    ChannelUnconfigured,
)
from tenure.campaigns.models import CampaignRow, CampaignVersion, Decision, Enrollment
from tenure.campaigns.schedule import next_cron
from tenure.campaigns.service import calendar
from tenure.campaigns.spec import (
    Branch,
    Campaign,
    Coupon,
    DateEntry,
    HolidayEntry,
    Once,
    Recurring,
    SegmentEntry,
    Send,
)
from tenure.campaigns.templates import compile_template
from tenure.promotions.errors import OfferNotFound
from tenure.promotions.service.offers import get_offer
from tenure.segments.errors import SegmentNotFound
from tenure.segments.service import get_segment

# What each action may follow: start a draft, pause a running one, resume a paused one.
TRANSITIONS = {
    "start": ({"draft"}, "active"),
    "pause": ({"active"}, "paused"),
    "resume": ({"paused"}, "active"),
    "finish": ({"draft", "active", "paused"}, "finished"),
}


def _content_fields(step: Send) -> Iterator[tuple[str, str, bool]]:
    content = step.content
    for field in ("subject", "title", "text", "html"):
        value = getattr(content, field)
        if value is None:
            continue
        variants = {"": value} if isinstance(value, str) else value
        for locale, source in variants.items():
            yield f"content.{field}" + (f".{locale}" if locale else ""), source, field == "html"


def check_templates(campaign: Campaign) -> None:
    """Compile every template now, so a broken one fails at save time with its path and line."""
    for i, step in enumerate(campaign.steps):
        if isinstance(step, Send):
            for field, source, html in _content_fields(step):
                compile_template(source, f"$.steps[{i}].{field}", html=html)


def validate(document: Any) -> Campaign:
    """The campaign a document describes, templates included, or the first error."""
    campaign = spec.parse(document)
    check_templates(campaign)
    return campaign


def check_references(session: Session, campaign: Campaign) -> None:
    """The offers, segments and holidays a campaign names exist (at save time, with the path)."""
    for path, key in _segments_named(campaign):
        try:
            get_segment(session, key)
        except SegmentNotFound:
            raise CampaignInvalid(path=path, reason=f"no segment `{key}`") from None
    for i, step in enumerate(campaign.steps):
        if isinstance(step, Coupon):
            try:
                get_offer(session, step.offer)
            except OfferNotFound:
                raise CampaignInvalid(
                    path=f"$.steps[{i}].offer", reason=f"no offer `{step.offer}`"
                ) from None
    trigger = campaign.trigger
    if isinstance(trigger, HolidayEntry) and not any(
        d.key == trigger.holiday for d in calendar.days(session)
    ):
        raise CampaignInvalid(
            path="$.trigger.holiday", reason=f"no holiday `{trigger.holiday}` in the calendar"
        )


def _segments_named(campaign: Campaign) -> Iterator[tuple[str, str]]:
    if campaign.audience.segment:
        yield "$.audience.segment", campaign.audience.segment
    if isinstance(campaign.trigger, SegmentEntry):
        yield "$.trigger.segment", campaign.trigger.segment
    for i, step in enumerate(campaign.steps):
        if isinstance(step, Branch) and step.condition.in_segment:
            yield f"$.steps[{i}].condition.in_segment", step.condition.in_segment


def _row(session: Session, key: str, *, lock: bool = False) -> CampaignRow:
    row = repository.campaign(session, key, lock=lock)
    if row is None:
        raise CampaignNotFound(key=key)
    return row


def create(session: Session, document: Any, now: datetime) -> tuple[CampaignRow, Campaign]:
    """Save a new campaign as a draft at version 1."""
    campaign = validate(document)
    check_references(session, campaign)
    if repository.campaign(session, campaign.key) is not None:
        raise CampaignExists(key=campaign.key)
    row = CampaignRow(
        key=campaign.key, name=campaign.name, status="draft", version=1,
        priority=campaign.priority, trigger=campaign.trigger.type, created_at=now,
        updated_at=now, started_at=None, next_run_at=None, cursor=None,
    )  # fmt: skip
    repository.add(session, row)
    repository.add(session, _version(campaign, 1, now))
    return row, campaign


def _version(campaign: Campaign, number: int, now: datetime) -> CampaignVersion:
    document = campaign.model_dump(mode="json", by_alias=True, exclude_none=True)
    return CampaignVersion(
        campaign_key=campaign.key, version=number, document=document, created_at=now
    )


def update(
    session: Session, key: str, document: Any, now: datetime, expected: int | None = None
) -> tuple[CampaignRow, Campaign]:
    """Save a new version; users already in the journey keep the version they entered with."""
    row = _row(session, key, lock=True)
    if expected is not None and expected != row.version:
        raise CampaignVersionConflict(key=key, current=row.version, expected=expected)
    if row.status == "finished":
        raise CampaignStateConflict(key=key, state=row.status, action="change")
    campaign = validate(document)
    check_references(session, campaign)
    if campaign.key != key:
        raise CampaignInvalid(path="$.key", reason=f"the key is `{key}` and cannot change")
    row.version += 1
    row.name, row.priority, row.trigger = campaign.name, campaign.priority, campaign.trigger.type
    row.updated_at = now
    repository.add(session, _version(campaign, row.version, now))
    return row, campaign


def transition(
    session: Session, key: str, action: str, now: datetime, channels: Collection[str] | None = None
) -> CampaignRow:
    """Start, pause, resume or finish a campaign.

    With `channels` (those this installation can send on), starting or resuming a campaign
    that sends on another channel is refused, instead of its messages retrying until dead.
    """
    row = _row(session, key, lock=True)
    allowed, target = TRANSITIONS[action]
    if row.status not in allowed:
        raise CampaignStateConflict(key=key, state=row.status, action=action)
    if channels is not None and action in ("start", "resume"):
        missing = sorted(document_of(session, key, row.version).channels() - {"inbox", *channels})
        if missing:
            raise ChannelUnconfigured(channel=missing[0], setting=SETTING_OF[missing[0]])
    row.status, row.updated_at = target, now
    if action == "start":
        row.started_at = now
        row.next_run_at = now  # the dispatcher runs the audience or starts the trigger scan
    return row


def get(session: Session, key: str) -> tuple[CampaignRow, Campaign]:
    """A campaign and its current document."""
    row = _row(session, key)
    return row, document_of(session, key, row.version)


def document_of(session: Session, key: str, number: int) -> Campaign:
    """A saved version's document (cached: versions never change)."""
    found = repository.version(session, key, number)
    if found is None:
        raise CampaignNotFound(key=f"{key}@{number}")
    return _parsed(key, number, _frozen(found.document))


def _frozen(document: dict[str, object]) -> str:
    return json.dumps(document, sort_keys=True)


@lru_cache(maxsize=256)
def _parsed(key: str, number: int, document: str) -> Campaign:
    return Campaign.model_validate(json.loads(document))


def listing(session: Session, status: str | None = None) -> list[CampaignRow]:
    """Every campaign, optionally of one status."""
    return repository.campaigns(session, status)


def history(session: Session, user_id: str) -> tuple[list[Enrollment], list[Decision]]:
    """A user's enrolments and every decision about them, newest first."""
    return repository.user_enrollments(session, user_id), repository.decisions_of(session, user_id)


@dataclass(frozen=True)
class Listed:
    """A campaign as a list shows it: its row and the channels its current version sends on."""

    row: CampaignRow
    channels: tuple[str, ...]


def listing_page(
    session: Session, status: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[Listed], int]:
    """One page of campaigns (newest first) with their channels, and how many there are."""
    found = repository.campaigns_with_documents(
        session, None if status is None else [status], offset, limit
    )
    listed = [
        Listed(row, tuple(sorted(_parsed(row.key, row.version, _frozen(doc)).channels())))
        for row, doc in found
    ]
    return listed, repository.campaign_count(session, status)


@dataclass(frozen=True)
class ScheduledDay:
    """A day a campaign is planned to run on: a holiday (with its offset), its one-off `at`, a
    day its cron names, or its member day. `holiday` is the calendar key for holiday triggers."""

    day: date
    key: str
    name: str
    status: str
    trigger: str
    holiday: str | None = None


PLANNED = ("draft", "active", "paused")
_MAX_CRON_DAYS = 400  # one run a day at most is listed, so a year fits


def scheduled(session: Session, first: date, last: date, zone: ZoneInfo) -> list[ScheduledDay]:
    """The days from `first` to `last` (inclusive, the shop's zone) on which unfinished
    campaigns are planned to run, by day then key. Triggers that depend on each customer
    (events, lifecycle moves, birthdays …) have no day of their own and are left out."""
    if last < first:
        return []
    found: list[ScheduledDay] = []
    holidays: list[calendar.Day] | None = None
    for row, doc in repository.campaigns_with_documents(session, PLANNED):
        campaign = _parsed(row.key, row.version, _frozen(doc))
        trigger = campaign.trigger
        days: list[tuple[date, str | None]] = []
        if isinstance(trigger, HolidayEntry):
            if holidays is None:
                margin = timedelta(days=31)
                holidays = calendar.between(session, first - margin, last + margin)
            shift = timedelta(days=trigger.offset_days)
            days = [(h.day + shift, h.key) for h in holidays if h.key == trigger.holiday]
        elif isinstance(trigger, Once) and trigger.at is not None:
            days = [(trigger.at.astimezone(zone).date(), None)]
        elif isinstance(trigger, Recurring):
            days = [(d, None) for d in _cron_days(trigger.cron, first, last, zone)]
        elif isinstance(trigger, DateEntry) and trigger.attribute == "member_day":
            days = [(d, None) for d in _member_days(trigger, first, last)]
        found.extend(
            ScheduledDay(day, row.key, row.name, row.status, trigger.type, holiday)
            for day, holiday in days
            if first <= day <= last
        )
    return sorted(found, key=lambda s: (s.day, s.key))


def _cron_days(expression: str, first: date, last: date, zone: ZoneInfo) -> list[date]:
    """The distinct local days in [first, last] on which a cron schedule fires."""
    out: list[date] = []
    after = datetime.combine(first, time(0), zone) - timedelta(microseconds=1)
    for _ in range(_MAX_CRON_DAYS):
        moment = next_cron(expression, after, zone)
        if moment is None:
            break
        day = moment.astimezone(zone).date()
        if day > last:
            break
        out.append(day)
        after = datetime.combine(day + timedelta(days=1), time(0), zone) - timedelta(microseconds=1)
    return out


def _member_days(trigger: DateEntry, first: date, last: date) -> list[date]:
    """The monthly member day in [first, last] (the trigger fires on `day_of_month` itself)."""
    if trigger.day_of_month is None:
        return []
    out: list[date] = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        out.append(date(year, month, trigger.day_of_month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [d for d in out if first <= d <= last]
