"""Segment, tag and lifecycle errors."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class RuleError(BadRequest):
    """A segment rule that cannot be compiled; `path` points at the wrong part."""

    code = "segment_rule_invalid"


class SegmentNotFound(NotFound):
    """No saved segment with that key."""

    code = "segment_not_found"


class SegmentExists(Conflict):
    """A saved segment with that key exists already."""

    code = "segment_exists"


class TagNotFound(NotFound):
    """No tag with that key."""

    code = "tag_not_found"


class TagIsRuleBased(Conflict):
    """Rule-based tags are set by their rule, not by hand."""

    code = "tag_is_rule_based"


class BadKey(BadRequest):
    """A segment or tag key that is not a slug."""

    code = "segment_bad_key"
