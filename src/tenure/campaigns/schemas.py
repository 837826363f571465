"""Campaign payloads over HTTP: campaigns, contacts and consent, the in-app inbox, history.

A campaign document itself travels as a JSON object and is checked by `spec.parse` (400
`campaign_invalid` naming the path), so there is no request model for it here. Nothing in this
domain's API carries money; datetimes are timezone-aware (UTC).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.models import CampaignRow, Consent, Contact, Decision, Enrollment, InboxItem
from tenure.campaigns.spec import Campaign
from tenure.kit.bounds import Line

# Column lengths (String(n) in campaigns/models.py).
CAMPAIGN_KEY_LENGTH = 64
MESSAGE_ID_LENGTH = 32
EMAIL_LENGTH = 320
PHONE_LENGTH = 32
PUSH_TOKEN_LENGTH = 400
LOCALE_LENGTH = 16
ZONE_LENGTH = 64
SOURCE_LENGTH = 64

CampaignKey = Annotated[Line, Field(min_length=1, max_length=CAMPAIGN_KEY_LENGTH)]
MessageId = Annotated[Line, Field(min_length=1, max_length=MESSAGE_ID_LENGTH)]
Status = Literal["draft", "active", "paused", "finished"]
ConsentChannel = Literal["email", "sms", "push"]
ConsentStatus = Literal["opted_in", "opted_out"]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    # Exact names only: a file lookup alone would take `localtime` (the server's own zone) and,
    # on a case-insensitive disk, `asia/shanghai`.
    return frozenset(available_timezones() - {"localtime"})


def _zone_name(value: str) -> str:
    """An IANA zone name this installation knows (`Asia/Shanghai`), else a 422."""
    if value not in _zones():
        raise ValueError(f"`{value}` is not an IANA time zone such as Asia/Shanghai")
    return value


Email = Annotated[Line, Field(min_length=3, max_length=EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+$")]
Phone = Annotated[
    Line, Field(min_length=3, max_length=PHONE_LENGTH, pattern=r"^\+?[0-9][0-9 ()./-]*$")
]
PushToken = Annotated[Line, Field(min_length=1, max_length=PUSH_TOKEN_LENGTH)]
Locale = Annotated[
    str,
    Field(
        min_length=2, max_length=LOCALE_LENGTH, pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$"
    ),
]
Zone = Annotated[Line, Field(min_length=1, max_length=ZONE_LENGTH), AfterValidator(_zone_name)]
Source = Annotated[Line, Field(min_length=1, max_length=SOURCE_LENGTH)]

CONTACT_FIELDS = ("email", "phone", "push_token", "locale", "timezone")


# ---- campaigns ---------------------------------------------------------------------------


class CampaignSummary(BaseModel):
    """A campaign's state, without its document (the listing)."""

    key: str
    name: str
    status: str
    version: int
    priority: int
    trigger: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    started_at: AwareDatetime | None

    @classmethod
    def of(cls, row: CampaignRow) -> CampaignSummary:
        return cls(
            key=row.key, name=row.name, status=row.status, version=row.version,
            priority=row.priority, trigger=row.trigger, created_at=row.created_at,
            updated_at=row.updated_at, started_at=row.started_at,
        )  # fmt: skip


class CampaignOut(CampaignSummary):
    """A campaign and its current document (as saved: defaults filled in)."""

    document: dict[str, Any]

    @classmethod
    def with_document(cls, row: CampaignRow, campaign: Campaign) -> CampaignOut:
        document = campaign.model_dump(mode="json", by_alias=True, exclude_none=True)
        return cls(**CampaignSummary.of(row).model_dump(), document=document)


class ValidOut(BaseModel):
    """The document is a valid campaign (an invalid one is a 400 problem naming the place)."""

    valid: Literal[True] = True


class PreviewOut(BaseModel):
    """One send step rendered for one user, as it would go out now."""

    step_id: str
    channel: str
    to: str
    locale: str
    subject: str | None
    title: str | None
    text: str
    html: str | None
    url: str | None
    unsubscribe_url: str | None

    @classmethod
    def of(cls, step_id: str, envelope: Envelope) -> PreviewOut:
        return cls(
            step_id=step_id, channel=envelope.channel, to=envelope.to, locale=envelope.locale,
            subject=envelope.subject, title=envelope.title, text=envelope.text,
            html=envelope.html, url=envelope.url, unsubscribe_url=envelope.unsubscribe_url,
        )  # fmt: skip


class EnrollmentOut(BaseModel):
    """One pass of a user through a campaign."""

    campaign_key: str
    version: int
    arm: str
    state: str
    step_id: str
    entered_at: AwareDatetime
    finished_at: AwareDatetime | None
    reason: str | None

    @classmethod
    def of(cls, row: Enrollment) -> EnrollmentOut:
        return cls(
            campaign_key=row.campaign_key, version=row.version, arm=row.arm, state=row.state,
            step_id=row.step_id, entered_at=row.entered_at, finished_at=row.finished_at,
            reason=row.reason,
        )  # fmt: skip


class DecisionOut(BaseModel):
    """One decision about a user: entered, sent, deferred until, skipped, opened …"""

    at: AwareDatetime
    campaign_key: str
    step_id: str | None
    message_id: str | None
    action: str
    reason: str | None
    until: AwareDatetime | None

    @classmethod
    def of(cls, row: Decision) -> DecisionOut:
        return cls(
            at=row.at, campaign_key=row.campaign_key, step_id=row.step_id,
            message_id=row.message_id, action=row.action, reason=row.reason, until=row.until,
        )  # fmt: skip


class HistoryOut(BaseModel):
    """A user's campaigns and every decision about them, newest first."""

    user_id: str
    enrollments: list[EnrollmentOut]
    decisions: list[DecisionOut]


# ---- contacts and consent ------------------------------------------------------------------


class ContactIn(BaseModel):
    """How to reach a user. Only the fields sent change; `null` clears one. Consent per
    channel needs its `source` (the form, the app screen, the import …)."""

    model_config = ConfigDict(extra="forbid")
    email: Email | None = None
    phone: Phone | None = None
    push_token: PushToken | None = None
    locale: Locale | None = Field(default=None, description="BCP 47, e.g. en or zh-CN")
    timezone: Zone | None = Field(default=None, description="IANA zone, e.g. Asia/Shanghai")
    consent: dict[ConsentChannel, ConsentStatus] | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _consent_has_a_source(self) -> ContactIn:
        if self.consent and self.source is None:
            raise ValueError("`source` is required with `consent`")
        return self

    def values(self) -> dict[str, str | None]:
        """The contact fields the caller sent."""
        return {
            name: getattr(self, name) for name in CONTACT_FIELDS if name in self.model_fields_set
        }


class ConsentOut(BaseModel):
    """Consent on one channel."""

    status: str
    source: str
    at: AwareDatetime


class ContactOut(BaseModel):
    """A user's contact details and consent per channel."""

    user_id: str
    email: str | None
    phone: str | None
    push_token: str | None
    locale: str | None
    timezone: str | None
    updated_at: AwareDatetime
    consent: dict[str, ConsentOut]

    @classmethod
    def of(cls, row: Contact, consents: list[Consent]) -> ContactOut:
        return cls(
            user_id=row.user_id, email=row.email, phone=row.phone, push_token=row.push_token,
            locale=row.locale, timezone=row.timezone, updated_at=row.updated_at,
            consent={
                c.channel: ConsentOut(status=c.status, source=c.source, at=c.at)
                for c in sorted(consents, key=lambda c: c.channel)
            },
        )  # fmt: skip


# ---- the in-app inbox ----------------------------------------------------------------------


class InboxItemOut(BaseModel):
    """A message in a user's in-app inbox."""

    id: str
    campaign_key: str
    title: str | None
    body: str
    url: str | None
    created_at: AwareDatetime
    read_at: AwareDatetime | None

    @classmethod
    def of(cls, row: InboxItem) -> InboxItemOut:
        return cls(
            id=row.id, campaign_key=row.campaign_key, title=row.title, body=row.body,
            url=row.url, created_at=row.created_at, read_at=row.read_at,
        )  # fmt: skip
