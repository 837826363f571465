"""Saved segments, tags and lifecycle state: rules, refreshes, membership lookups.

`segments_of` and `is_member` answer from the operational database only, so checkout and
campaigns never wait on the warehouse. Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from tenure.analytics.features import FEATURES, USER_COLUMNS
from tenure.kit.time import utc_now
from tenure.segments import repository
from tenure.segments.compile import Compiler
from tenure.segments.errors import (
    BadKey,
    RuleError,
    SegmentExists,
    SegmentNotFound,
)
from tenure.segments.lifecycle import STAGES
from tenure.segments.models import Segment
from tenure.segments.rules import (
    LIFECYCLE_FIELDS,
    OPS,
    RFM_FIELDS,
    Node,
    parse,
    resolve,
    tags_used,
)

KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")


@dataclass(frozen=True)
class Refresh:
    """The outcome of one refresh."""

    key: str
    members: int
    added: int
    removed: int
    at: datetime


def check_key(key: str) -> str:
    """A lower-case slug, or BadKey."""
    if not KEY.match(key):
        raise BadKey(value=key)
    return key


def parse_rule(rule: Any) -> tuple[Node, str]:
    """The parsed rule and its canonical JSON text."""
    data = rule
    if isinstance(rule, str):
        from tenure.segments.rules import load

        data = load(rule)
    node = parse(data)
    return node, json.dumps(data, sort_keys=True, default=str)


def rule_fields() -> list[str]:
    """The field names a rule condition may use, for a picker; attributes and other scores
    take a key too (`user.attributes.KEY`, `score.MODEL.KEY`)."""
    return [
        *(f"user.{c}" for c in USER_COLUMNS),
        *(f"feature.{c}" for c in FEATURES),
        *(f"rfm.{c}" for c in RFM_FIELDS),
        *(f"lifecycle.{c}" for c in LIFECYCLE_FIELDS),
    ]


def rule_operators() -> list[str]:
    """The operators of a condition, in the order a picker shows them."""
    order = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in")
    return [*order, *sorted(OPS - set(order))]


_LISTS = {"in", "not_in", "between"}
_NO_VALUE = {"is_null", "is_not_null"}
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def rule_from_rows(combine: str, rows: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """A rule document from a form's flat conditions, all or any of them (`combine`).

    Each row is (field, operator, value as typed); rows with no field are skipped. The field
    `tag` means "carries the tag named in value". Values of in, not_in and between are
    comma-separated; a number typed for a numeric field (or for an attribute or score, whose
    kind is unknown) becomes a number, anything else stays text, so `parse_rule` checks the
    result and names the wrong part (`$.all[1].value`).
    """
    if combine not in ("all", "any"):
        raise RuleError(path="$", reason=f"combine with all or any, not {combine[:20]!r}")
    conditions: list[dict[str, Any]] = []
    for field, op, text in rows:
        field, op, text = field.strip(), op.strip(), text.strip()
        if not field:
            continue
        if field == "tag":
            conditions.append({"tag": text})
            continue
        condition: dict[str, Any] = {"field": field, "op": op or "eq"}
        if condition["op"] not in _NO_VALUE:
            condition["value"] = _typed_value(field, condition["op"], text)
        conditions.append(condition)
    if not conditions:
        raise RuleError(path=f"$.{combine}", reason="add at least one condition")
    return {combine: conditions}


def _typed_value(field: str, op: str, text: str) -> Any:
    try:
        kind = resolve(field, "$").kind
    except RuleError:
        kind = "string"  # parse_rule reports the unknown field
    if op in _LISTS:
        return [_typed(kind, part.strip()) for part in text.split(",") if part.strip()]
    return _typed(kind, text)


def _typed(kind: str, text: str) -> Any:
    if kind in ("number", "any") and _NUMBER.match(text):
        return int(text) if _INTEGER.match(text) else float(text)
    return text


def tag_members(session: Session, keys: set[str]) -> dict[str, list[str]]:
    """Users of each named tag; an unknown tag is an error that names it."""
    tags = {key: repository.tag_by_key(session, key) for key in keys}
    missing = sorted(k for k, t in tags.items() if t is None)
    if missing:
        raise RuleError(path="$", reason=f"unknown tag {missing[0]}")
    by_id = repository.tagged_users(session, [t.id for t in tags.values() if t is not None])
    return {key: by_id.get(tag.id, []) for key, tag in tags.items() if tag is not None}


def member_ids(
    session: Session, con: BaseBackend, node: Node, zone: ZoneInfo, end: date
) -> list[str]:
    """The user ids a rule matches in the warehouse as of `end`."""
    compiler = Compiler(con, zone, end, tag_members(session, tags_used(node)))
    frame = compiler.members(node).execute()
    return sorted(str(u) for u in frame.user_id)


def preview(
    session: Session, con: BaseBackend, rule: Any, zone: ZoneInfo, end: date, sample: int = 20
) -> tuple[int, list[str]]:
    """How many users a rule matches and the first few ids."""
    node, _ = parse_rule(rule)
    compiler = Compiler(con, zone, end, tag_members(session, tags_used(node)))
    members = compiler.members(node)
    count = int(members.count().execute())
    ids = members.order_by("user_id").limit(sample).execute().user_id
    return count, [str(u) for u in ids]


def create_segment(
    session: Session,
    key: str,
    rule: Any,
    *,
    name: str | None = None,
    description: str = "",
    refresh_minutes: int = 60,
) -> Segment:
    """Save a segment; it is due for a first refresh at once."""
    check_key(key)
    if repository.segment_by_key(session, key) is not None:
        raise SegmentExists(segment=key)
    _, text = parse_rule(rule)
    now = utc_now()
    segment = Segment(
        key=key,
        name=name or key,
        description=description,
        rule=text,
        refresh_minutes=max(1, refresh_minutes),
        member_count=0,
        created_at=now,
        updated_at=now,
        next_refresh_at=now,
    )
    repository.add(session, segment)
    return segment


def update_segment(
    session: Session,
    key: str,
    *,
    rule: Any = None,
    name: str | None = None,
    description: str | None = None,
    refresh_minutes: int | None = None,
) -> Segment:
    """Change a segment; a new rule makes it due at once."""
    segment = get_segment(session, key)
    now = utc_now()
    if rule is not None:
        _, segment.rule = parse_rule(rule)
        segment.next_refresh_at = now
    if name is not None:
        segment.name = name
    if description is not None:
        segment.description = description
    if refresh_minutes is not None:
        segment.refresh_minutes = max(1, refresh_minutes)
    segment.updated_at = now
    return segment


def get_segment(session: Session, key: str) -> Segment:
    """The segment with this key, or SegmentNotFound."""
    segment = repository.segment_by_key(session, key)
    if segment is None:
        raise SegmentNotFound(segment=key)
    return segment


def list_segments(session: Session) -> list[Segment]:
    """Every saved segment."""
    return repository.all_segments(session)


def delete_segment(session: Session, key: str) -> None:
    """Delete a segment with its members and snapshots."""
    repository.delete_segment(session, get_segment(session, key))


def segment_members_now(
    session: Session, con: BaseBackend, key: str, zone: ZoneInfo, end: date
) -> list[str]:
    """Evaluate a saved segment's rule in the warehouse (reads only)."""
    node, _ = parse_rule(get_segment(session, key).rule)
    return member_ids(session, con, node, zone, end)


def apply_refresh(
    session: Session, key: str, members: list[str], at: datetime | None = None
) -> Refresh:
    """Store a segment's new members: the difference, a snapshot, the next due time."""
    segment = get_segment(session, key)
    at = at or utc_now()
    wanted = set(members)
    current = repository.member_ids(session, segment.id)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    repository.replace_members(session, segment.id, added, removed, at)
    repository.add_snapshot(session, segment.id, at, len(wanted), added, removed)
    segment.member_count = len(wanted)
    segment.refreshed_at = at
    segment.next_refresh_at = at + timedelta(minutes=segment.refresh_minutes)
    return Refresh(key, len(wanted), len(added), len(removed), at)


def refresh_segment(
    session: Session,
    con: BaseBackend,
    key: str,
    zone: ZoneInfo,
    end: date,
    at: datetime | None = None,
) -> Refresh:
    """Recompute a segment's members, store the difference and a snapshot."""
    return apply_refresh(session, key, segment_members_now(session, con, key, zone, end), at)


def due_segments(session: Session, now: datetime | None = None) -> list[str]:
    """Keys of the segments due for a refresh."""
    return repository.due_segment_keys(session, now or utc_now())


def claim_segment(session: Session, key: str, now: datetime | None = None) -> bool:
    """Take a due segment for this worker (commit before refreshing); False if taken or not due."""
    segment = get_segment(session, key)
    now = now or utc_now()
    # A lease: if this worker dies the segment is due again after one interval.
    return repository.claim(
        session, segment.id, now, now + timedelta(minutes=segment.refresh_minutes)
    )


def members(session: Session, key: str, offset: int = 0, limit: int = 1000) -> list[str]:
    """A page of a segment's current members."""
    return repository.members_page(session, get_segment(session, key).id, offset, limit)


def all_members(session: Session, key: str) -> list[str]:
    """Every current member of a segment, sorted."""
    return sorted(repository.member_ids(session, get_segment(session, key).id))


def member_count(session: Session, key: str) -> int:
    """How many members a segment has now."""
    return get_segment(session, key).member_count


def members_at(session: Session, key: str, snapshot_id: int) -> list[str]:
    """The members a segment had right after a given snapshot."""
    segment = get_segment(session, key)
    inside: set[str] = set()
    for user_id, change in repository.changes_up_to(session, segment.id, snapshot_id):
        if change > 0:
            inside.add(user_id)
        else:
            inside.discard(user_id)
    return sorted(inside)


def snapshots(session: Session, key: str, limit: int = 50) -> list[Any]:
    """A segment's refreshes, newest first."""
    return repository.snapshots(session, get_segment(session, key).id, limit)


def joined_after(
    session: Session, key: str, after_snapshot: int, limit: int = 10_000
) -> list[tuple[int, str]]:
    """(snapshot id, user) of each entry into a segment after a refresh (a polling cursor)."""
    return repository.joined_after(session, get_segment(session, key).id, after_snapshot, limit)


def last_snapshot(session: Session, key: str) -> int:
    """The id of a segment's newest refresh (0 when never refreshed)."""
    return repository.last_snapshot_id(session, get_segment(session, key).id)


def segments_of(session: Session, user_id: str) -> list[str]:
    """Keys of the saved segments a user is in (as of each segment's last refresh)."""
    return repository.segment_keys_of(session, user_id)


def is_member(session: Session, segment_key: str, user_id: str) -> bool:
    """Whether a user is in a saved segment (as of its last refresh); one indexed lookup."""
    return repository.is_member(session, segment_key, user_id)


# Lifecycle state ----------------------------------------------------------------------------


def record_stages(session: Session, stages: pd.DataFrame) -> int:
    """Store each user's stage; append a dated transition for every change. Returns how many.

    `stages` has user_id, stage and since (date). A user who went from an alive stage straight
    to churned between two runs also gets the at-risk entry they passed through, dated by
    `at_risk_since`, so triggers on "entered at-risk" never miss anyone.
    """
    now = utc_now()
    known = repository.lifecycle_states(session)
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    for rec in stages.sort_values("user_id").to_dict("records"):  # ids follow user order
        user, stage, since = str(rec["user_id"]), str(rec["stage"]), _as_date(rec["since"])
        old = known.get(user)
        if old is not None and old[0] == stage:
            continue
        state = {"user_id": user, "stage": stage, "since": since, "updated_at": now}
        (new_rows if old is None else changed).append(state)
        previous = None if old is None else old[0]
        skipped = rec.get("at_risk_since")
        if stage == "churned" and previous not in ("at_risk", "churned") and skipped is not None:
            when = _as_date(skipped)
            moves.append(_move(user, previous, "at_risk", when, now))
            previous = "at_risk"
        moves.append(_move(user, previous, stage, since, now))
    repository.save_lifecycle(session, new_rows, changed, moves)
    return len(moves)


def _move(user: str, old: str | None, new: str, day: date, now: datetime) -> dict[str, Any]:
    return {"user_id": user, "from_stage": old, "to_stage": new, "day": day, "recorded_at": now}


def _as_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return pd.Timestamp(value).date()


def transitions(
    session: Session,
    to_stage: str | None = None,
    since: date | None = None,
    user_id: str | None = None,
    limit: int = 1000,
    after_id: int = 0,
) -> list[Any]:
    """Stage changes in recorded order (ids are a polling cursor), e.g. who entered at_risk."""
    if to_stage is not None and to_stage not in STAGES:
        raise RuleError(
            path="to_stage", reason=f"unknown stage {to_stage}; use {', '.join(STAGES)}"
        )
    return repository.transitions(session, to_stage, since, user_id, limit, after_id)


def flows(session: Session, since: date) -> list[tuple[str | None, str, int]]:
    """How many users moved between lifecycle stages since a day, largest flows first."""
    return repository.flows(session, since)


def last_transition(session: Session) -> int:
    """The id of the newest stage change (a starting point for polling `transitions`)."""
    return repository.last_transition_id(session)


def stage_of(session: Session, user_id: str) -> tuple[str, date] | None:
    """A user's stored stage and since."""
    state = repository.lifecycle_state(session, user_id)
    return None if state is None else (state.stage, state.since)


def flows_between(session: Session, since: date, until: date) -> list[tuple[str | None, str, int]]:
    """How many users moved between lifecycle stages on the days `since`..`until` (inclusive),
    largest flows first: a week's moves for the weekly review."""
    return repository.flows_between(session, since, until)


@dataclass(frozen=True)
class SegmentMove:
    """A saved segment's size at two instants, from its refresh snapshots."""

    key: str
    name: str
    before: int | None  # None: not refreshed yet at the start
    after: int

    @property
    def change(self) -> int:
        return self.after - (self.before or 0)

    @property
    def change_rate(self) -> float | None:
        """change / before; None for a segment that was empty or not there at the start."""
        return self.change / self.before if self.before else None


def segment_movers(
    session: Session, start: datetime, end: datetime, limit: int = 10
) -> list[SegmentMove]:
    """The saved segments whose member count changed most between `start` and `end` (each
    count is the one of the segment's last refresh before that instant), largest absolute
    change first; segments not refreshed before `end`, and those that did not change, are left
    out."""
    before = repository.member_counts_at(session, start)
    after = repository.member_counts_at(session, end)
    moves = [
        SegmentMove(segment.key, segment.name, before.get(segment.id), after[segment.id])
        for segment in repository.all_segments(session)
        if segment.id in after and after[segment.id] != before.get(segment.id)
    ]
    moves.sort(key=lambda m: (-abs(m.change), m.key))
    return moves[: max(0, limit)]
