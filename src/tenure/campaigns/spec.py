"""The campaign document: who enters, when, the journey's steps, guardrails and the holdout.

A campaign is saved as a versioned JSON/YAML document (see docs/campaigns.md). Users in
flight keep the version they entered with. `parse` checks the whole document and names the
path of the first problem (`$.steps[2].then`), like segment rules do.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from tenure.campaigns.errors import CampaignInvalid
from tenure.campaigns.schedule import parse_cron
from tenure.kit.bounds import Instant, Line, Name, PublicId, Text
from tenure.kit.documents import json_or_yaml
from tenure.segments.lifecycle import STAGES

CHANNELS = ("email", "sms", "push", "inbox")
EXIT = "exit"
KEY = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
_DURATION = re.compile(r"^\s*(\d{1,6})\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WAIT = timedelta(days=366)


Stage = Literal[STAGES]  # type: ignore[valid-type]
# Path words of the HTTP API and the console next to /{key}.
RESERVED = {"policy", "validate", "users", "calendar"}


def parse_duration(text: str | int) -> timedelta:
    """`30m`, `4h`, `2d`, `1w` (or seconds as an integer) to a timedelta."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise ValueError(f"`{text}` is not a duration such as 30m, 4h, 2d or 1w")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_WAIT.total_seconds():
        raise ValueError("a duration must be more than 0 and at most 366 days")
    return timedelta(seconds=seconds)


def _checked(value: str | int) -> str | int:
    parse_duration(value)
    return value


Duration = Annotated[
    str | int, AfterValidator(_checked), Field(description="30m, 4h, 2d, 1w, or seconds")
]
Source = Annotated[Text, StringConstraints(max_length=100_000)]
LocaleTag = Annotated[Line, StringConstraints(min_length=2, max_length=16)]
Variants = Source | dict[LocaleTag, Source]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- audience and triggers --------------------------------------------------------------


class Audience(_Strict):
    """A saved segment or an inline rule (the segment rule language); none: everyone known."""

    segment: str | None = Field(default=None, pattern=KEY)
    rule: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Audience:
        if self.segment is not None and self.rule is not None:
            raise ValueError("give a segment or a rule, not both")
        return self


class Once(_Strict):
    """One send to the audience as it is when the campaign starts (or at `at`)."""

    type: Literal["once"] = "once"
    at: Instant | None = None  # none: as soon as the campaign starts


class Recurring(_Strict):
    """The audience again on a cron schedule in the shop's zone (`0 10 * * 1`: Mondays 10:00)."""

    type: Literal["recurring"]
    cron: str

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse_cron(value)
        return value


class LifecycleEntry(_Strict):
    """Enter when a customer moves to a lifecycle stage (e.g. to at_risk)."""

    type: Literal["lifecycle"]
    to: Stage
    source: Stage | None = Field(default=None, alias="from")


class SegmentEntry(_Strict):
    """Enter when a customer joins a saved segment."""

    type: Literal["segment_entry"]
    segment: str = Field(pattern=KEY)


class EventEntry(_Strict):
    """Enter on an event; with `unless`, only when that event does not follow within `within`.

    Cart abandonment: `{event: Product Added, unless: Order Completed, within: 4h}`.
    """

    type: Literal["event"]
    event: Annotated[Line, StringConstraints(min_length=1, max_length=200)]
    unless: Annotated[Line, StringConstraints(min_length=1, max_length=200)] | None = None
    within: Duration | None = None
    first_order: bool = False  # only a customer's first `Order Completed`

    @model_validator(mode="after")
    def _pair(self) -> EventEntry:
        if (self.unless is None) != (self.within is None):
            raise ValueError("`unless` and `within` go together")
        return self


class DateEntry(_Strict):
    """Enter on a date of the customer's own: birthday, sign-up anniversary, member day."""

    type: Literal["date"]
    attribute: Literal["birthday", "signup_anniversary", "member_day"]
    day_of_month: int | None = Field(default=None, ge=1, le=28)  # member day
    offset_days: int = Field(default=0, ge=-30, le=30)
    at: time = time(10, 0)  # local time in the customer's zone


class HolidayEntry(_Strict):
    """Enter on a day of the shop calendar (618, singles_day, spring_festival …)."""

    type: Literal["holiday"]
    holiday: str = Field(pattern=KEY)
    offset_days: int = Field(default=0, ge=-30, le=30)
    at: time = time(10, 0)


class LoyaltyEntry(_Strict):
    """Enter on a loyalty moment: points about to expire (the points job's reminders) or a
    tier upgrade."""

    type: Literal["loyalty"]
    moment: Literal["points_expiring", "tier_up"]


Trigger = Annotated[
    Once
    | Recurring
    | LifecycleEntry
    | SegmentEntry
    | EventEntry
    | DateEntry
    | HolidayEntry
    | LoyaltyEntry,
    Field(discriminator="type"),
]


class ReEntry(_Strict):
    """Whether a user may enter again: never, or once `after_days` have passed since entry."""

    after_days: int | None = Field(default=None, ge=1, le=3650)


class Exits(_Strict):
    """What ends a user's journey early."""

    on_order: bool = False  # converted
    on_unsubscribe: bool = True
    on_segment_exit: bool = False  # left the audience segment


# ---- steps ------------------------------------------------------------------------------


class _Step(_Strict):
    id: str = Field(pattern=KEY)
    next: str | None = None  # default: the step after this one in the list


class Content(_Strict):
    """A message in one or more languages: a plain string, or {locale: text}."""

    subject: Variants | None = None  # e-mail
    title: Variants | None = None  # push, inbox
    text: Variants
    html: Variants | None = None  # e-mail
    url: Annotated[Line, StringConstraints(max_length=2000)] | None = None
    data: dict[str, Any] = Field(default_factory=dict)  # provider extras (wechat template_id …)


class Send(_Step):
    """Send one message on a channel."""

    type: Literal["send"]
    channel: Literal["email", "sms", "push", "inbox"]
    content: Content
    expires_after: Duration | None = None  # drop it if it cannot go out within this time
    transactional: bool = False  # skips frequency caps (never quiet hours or consent)


class Wait(_Step):
    """Wait a duration, or until the next local time of day in the customer's zone."""

    type: Literal["wait"]
    duration: Duration | None = None
    until: time | None = None

    @model_validator(mode="after")
    def _one(self) -> Wait:
        if (self.duration is None) == (self.until is None):
            raise ValueError("give a duration or an until time")
        return self


class Condition(_Strict):
    """Behaviour since entry: ordered, opened/clicked a step's message, in a segment."""

    ordered: bool | None = None
    opened: str | None = None
    clicked: str | None = None
    in_segment: str | None = Field(default=None, pattern=KEY)

    @model_validator(mode="after")
    def _one(self) -> Condition:
        given = [k for k in ("ordered", "opened", "clicked", "in_segment") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of ordered, opened, clicked, in_segment")
        return self


class Branch(_Step):
    """Go to `then` when the condition holds, else to `else`."""

    type: Literal["branch"]
    condition: Condition
    then: str
    otherwise: str = Field(alias="else")


class Path(_Strict):
    weight: float = Field(gt=0, le=1)
    next: str


class Split(_Step):
    """A random split, deterministic per user; weights add up to 1."""

    type: Literal["split"]
    paths: list[Path] = Field(min_length=2, max_length=10)

    @field_validator("paths")
    @classmethod
    def _sum(cls, paths: list[Path]) -> list[Path]:
        if abs(sum(p.weight for p in paths) - 1.0) > 1e-9:
            raise ValueError("the weights of the paths must add up to 1")
        return paths


class Coupon(_Step):
    """Issue a coupon of a promotions offer into the customer's wallet."""

    type: Literal["coupon"]
    offer: PublicId


class Points(_Step):
    """Grant loyalty points."""

    type: Literal["points"]
    points: int = Field(ge=1, le=10**9)


class Tag(_Step):
    """Add (or with `remove`, take off) a tag."""

    type: Literal["tag"]
    tag: str = Field(pattern=KEY)
    remove: bool = False


class Webhook(_Step):
    """POST the user id and campaign to a URL of the shop's (a CRM, a fulfilment system)."""

    type: Literal["webhook"]
    url: Annotated[
        Line, StringConstraints(pattern=r"^https?://[^\x00-\x20\x7f]+$", max_length=2000)
    ]


class Exit(_Step):
    type: Literal["exit"]


Step = Annotated[
    Send | Wait | Branch | Split | Coupon | Points | Tag | Webhook | Exit,
    Field(discriminator="type"),
]


# ---- the campaign -----------------------------------------------------------------------


class CapSpec(_Strict):
    count: int = Field(ge=1, le=1000)
    days: int = Field(default=1, ge=1, le=366)
    channel: Literal["email", "sms", "push", "inbox"] | None = None


class QuietSpec(_Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _window(self) -> QuietSpec:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")
        return self


class Campaign(_Strict):
    """The whole campaign document."""

    key: str = Field(pattern=KEY)
    name: Name
    description: Annotated[Text, StringConstraints(max_length=2000)] = ""
    priority: int = Field(default=50, ge=0, le=100)
    audience: Audience = Audience()
    trigger: Trigger = Once()
    reentry: ReEntry = ReEntry()
    exits: Exits = Exits()
    holdout: float = Field(default=0.1, ge=0, le=0.9)
    global_control: bool = True  # leave the shop's global control group out
    consent: Literal["opt_in", "not_opted_out"] = "opt_in"
    attribution_days: int = Field(default=7, ge=1, le=90)
    steps: list[Step] = Field(min_length=1, max_length=100)

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED:
            raise ValueError(f"`{key}` is reserved; choose another key")
        return key

    @model_validator(mode="after")
    def _graph(self) -> Campaign:
        _check_graph(self.steps)
        return self

    def step(self, step_id: str) -> Any:
        """The step with that id."""
        return next(s for s in self.steps if s.id == step_id)

    def after(self, step: Any) -> str:
        """Where a step goes next when it has one way out."""
        if step.next is not None:
            return str(step.next)
        index = next(i for i, s in enumerate(self.steps) if s.id == step.id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else EXIT

    def channels(self) -> set[str]:
        """The channels the campaign sends on."""
        return {s.channel for s in self.steps if isinstance(s, Send)}


class _GraphError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path


def _targets(step: Any) -> list[tuple[str, str]]:
    out = [("next", step.next)] if step.next is not None else []
    if isinstance(step, Branch):
        out += [("then", step.then), ("else", step.otherwise)]
    if isinstance(step, Split):
        out += [(f"paths[{i}].next", p.next) for i, p in enumerate(step.paths)]
    return out


def _check_graph(steps: list[Any]) -> None:
    """Unique ids, known targets, and no loop (every journey ends)."""
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id == EXIT:
            raise _GraphError(f"$.steps[{i}].id", "`exit` is reserved")
        if step.id in index:
            raise _GraphError(f"$.steps[{i}].id", f"step id `{step.id}` is used twice")
        index[step.id] = i
    edges: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        for field, target in _targets(step):
            if target != EXIT and target not in index:
                raise _GraphError(f"$.steps[{i}].{field}", f"no step `{target}`")
        if isinstance(step, Branch | Split):
            ways = [t for _, t in _targets(step) if _ != "next"]
        elif isinstance(step, Exit):
            ways = []
        else:
            ways = [step.next if step.next is not None else _default_next(steps, i)]
        edges[step.id] = [t for t in ways if t != EXIT]
    sends = {s.id for s in steps if isinstance(s, Send)}
    for i, step in enumerate(steps):
        if isinstance(step, Branch):
            named = step.condition.opened or step.condition.clicked
            if named is not None and named not in sends:
                kind = "opened" if step.condition.opened else "clicked"
                raise _GraphError(f"$.steps[{i}].condition.{kind}", f"no send step `{named}`")
    for i, step in enumerate(steps):
        if step.id in _reachable_from(edges, step.id):
            raise _GraphError(f"$.steps[{i}]", f"step `{step.id}` leads back to itself")


def _default_next(steps: list[Any], i: int) -> str:
    return str(steps[i + 1].id) if i + 1 < len(steps) else EXIT


def _reachable_from(edges: dict[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, []))
    return seen


def _path(loc: tuple[Any, ...]) -> str:
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue  # pydantic names the union member chosen; the reader wants the field
        else:
            out += f".{part}"
    return out


_UNION_TAGS = {
    "once", "recurring", "lifecycle", "segment_entry", "event", "date", "holiday", "loyalty",
    "send", "wait", "branch", "split", "coupon", "points", "tag", "webhook", "exit",
    "str", "dict[str,str]", "int",
}  # fmt: skip


def parse(document: Any) -> Campaign:
    """A campaign from a mapping or JSON/YAML text; CampaignInvalid names the first bad path."""
    try:
        data = json_or_yaml(document) if isinstance(document, str) else document
    except ValueError as exc:
        raise CampaignInvalid(path="$", reason=str(exc)) from None
    if not isinstance(data, dict):
        raise CampaignInvalid(path="$", reason="a campaign is an object")
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        ctx_error = (first.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _GraphError):
            raise CampaignInvalid(path=ctx_error.path, reason=str(ctx_error)) from None
        reason = str(first.get("msg", "")).removeprefix("Value error, ")
        raise CampaignInvalid(path=_path(tuple(first.get("loc", ()))), reason=reason) from None
