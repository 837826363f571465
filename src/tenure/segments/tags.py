"""Tags: manual ones set by hand, rule-based ones re-evaluated like segments."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from tenure.kit.time import utc_now
from tenure.segments import repository
from tenure.segments.errors import RuleError, SegmentExists, TagIsRuleBased, TagNotFound
from tenure.segments.models import Tag
from tenure.segments.rules import tags_used
from tenure.segments.service import Refresh, check_key, member_ids, parse_rule


def create_tag(session: Session, key: str, rule: Any = None) -> Tag:
    """A manual tag, or a rule-based one when `rule` is given."""
    check_key(key)
    if repository.tag_by_key(session, key) is not None:
        raise SegmentExists(segment=key)
    text = None
    if rule is not None:
        node, text = parse_rule(rule)
        if key in tags_used(node):
            raise RuleError(path="$", reason=f"tag {key} cannot depend on itself")
    tag = Tag(key=key, rule=text, created_at=utc_now())
    repository.add(session, tag)
    return tag


def get_tag(session: Session, key: str) -> Tag:
    """The tag with this key, or TagNotFound."""
    tag = repository.tag_by_key(session, key)
    if tag is None:
        raise TagNotFound(tag=key)
    return tag


def list_tags(session: Session) -> list[tuple[Tag, int]]:
    """Every tag with how many users carry it."""
    return [(t, repository.tag_count(session, t.id)) for t in repository.all_tags(session)]


def tag_users(session: Session, key: str, user_ids: list[str], *, create: bool = True) -> int:
    """Put a manual tag on users (created on first use); returns how many were new."""
    tag = repository.tag_by_key(session, key)
    if tag is None:
        if not create:
            raise TagNotFound(tag=key)
        tag = create_tag(session, key)
    if tag.rule is not None:
        raise TagIsRuleBased(tag=key)
    have = set(repository.tagged_users(session, [tag.id]).get(tag.id, []))
    new = sorted(set(user_ids) - have)
    repository.set_tag_users(session, tag.id, new, [], utc_now())
    return len(new)


def untag_users(session: Session, key: str, user_ids: list[str]) -> None:
    """Take a manual tag off users."""
    tag = get_tag(session, key)
    if tag.rule is not None:
        raise TagIsRuleBased(tag=key)
    repository.set_tag_users(session, tag.id, [], sorted(set(user_ids)), utc_now())


def delete_tag(session: Session, key: str) -> None:
    """Delete a tag."""
    repository.delete_tag(session, get_tag(session, key))


def tag_members_now(
    session: Session, con: BaseBackend, key: str, zone: ZoneInfo, end: date
) -> list[str]:
    """Evaluate a rule-based tag in the warehouse (reads only)."""
    tag = get_tag(session, key)
    if tag.rule is None:
        raise TagIsRuleBased(tag=key)
    node, _ = parse_rule(tag.rule)
    return member_ids(session, con, node, zone, end)


def apply_tag_refresh(session: Session, key: str, users: list[str]) -> Refresh:
    """Set a rule-based tag to exactly these users."""
    tag = get_tag(session, key)
    at = utc_now()
    wanted = set(users)
    have = set(repository.tagged_users(session, [tag.id]).get(tag.id, []))
    added, removed = sorted(wanted - have), sorted(have - wanted)
    repository.set_tag_users(session, tag.id, added, removed, at)
    tag.refreshed_at = at
    return Refresh(key, len(wanted), len(added), len(removed), at)


def tags_of(session: Session, user_id: str) -> list[str]:
    """Keys of the tags a user carries."""
    return repository.tag_keys_of(session, user_id)
