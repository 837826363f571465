"""The program configuration: a versioned row in the database, edited by CLI or HTTP."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from tenure.kit.bounds import INT32_MAX, MONEY_MAX, PROGRAM_KEY_LENGTH
from tenure.kit.money import exponent
from tenure.loyalty import repository
from tenure.loyalty.errors import ProgramInvalid, ProgramVersionConflict
from tenure.loyalty.models import ProgramVersion

Period = Literal["day", "week", "month", "year", "lifetime"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionRule(_Strict):
    """Points for one action, with optional caps on how often it pays."""

    points: int = Field(ge=0)
    max_per_day: int | None = Field(default=None, ge=1)
    max_per_period: int | None = Field(default=None, ge=1)
    period: Period = "lifetime"


class Tier(_Strict):
    """A tier: the qualifying threshold and its benefits."""

    code: str = Field(min_length=1, max_length=40)
    name: str
    threshold: int = Field(ge=0, description="Minor units of spend, or points, in the window.")
    multiplier_bps: int = Field(default=10_000, ge=0)
    free_shipping: bool = False
    exclusive_coupons: list[str] = Field(default_factory=list)
    birthday_gift_points: int = Field(default=0, ge=0)
    early_access_hours: int = Field(default=0, ge=0)


class MemberDay(_Strict):
    """Days (in the shop's zone) on which earning gets an extra multiplier."""

    days_of_month: list[int] = Field(default_factory=list)
    weekdays: list[int] = Field(default_factory=list, description="0 = Monday … 6 = Sunday.")
    multiplier_bps: int = Field(default=20_000, ge=0)


class Plan(_Strict):
    """A paid membership plan with its own benefits."""

    name: str
    price_minor: int = Field(ge=0)
    period_days: int = Field(default=30, ge=1)
    multiplier_bps: int = Field(default=10_000, ge=0)
    free_shipping: bool = False
    exclusive_coupons: list[str] = Field(default_factory=list)
    early_access_hours: int = Field(default=0, ge=0)


class Task(_Strict):
    """A one-off task that awards points once."""

    title: str
    points: int = Field(ge=0)


def _default_actions() -> dict[str, ActionRule]:
    return {
        "signup": ActionRule(points=100, max_per_period=1),
        "first_order": ActionRule(points=200, max_per_period=1),
        "review": ActionRule(points=20, max_per_day=3),
        "birthday": ActionRule(points=500, max_per_period=1, period="year"),
        "profile_completion": ActionRule(points=50, max_per_period=1),
    }


def _default_tiers() -> list[Tier]:
    return [
        Tier(code="member", name="Member", threshold=0),
        Tier(code="silver", name="Silver", threshold=50_000, multiplier_bps=12_500),
        Tier(
            code="gold",
            name="Gold",
            threshold=200_000,
            multiplier_bps=15_000,
            free_shipping=True,
            birthday_gift_points=500,
            early_access_hours=24,
        ),
    ]


def _default_tasks() -> dict[str, Task]:
    return {
        "complete_profile": Task(title="Complete your profile", points=50),
        "first_review": Task(title="Write your first review", points=30),
        "invite_friend": Task(title="Invite a friend", points=100),
    }


class Program(_Strict):
    """Every rule of the points program; amounts in minor units of `currency`."""

    currency: str = Field(default="USD", min_length=3, max_length=3)
    earn_points_per_unit: int = Field(default=1, ge=0, description="Points per major unit spent.")
    redeem_points_per_unit: int = Field(default=100, ge=1, description="Points worth 1 major unit.")
    max_redeem_share_bps: int = Field(default=5_000, ge=0, le=10_000)
    min_redeem_points: int = Field(default=100, ge=1)
    reservation_minutes: int = Field(default=60, ge=1)
    return_window_days: int = Field(default=14, ge=0)
    expiry_days: int | None = Field(default=365, ge=1)
    reminder_days: int = Field(default=30, ge=0)
    daily_action_points_cap: int | None = Field(default=None, ge=1)
    actions: dict[str, ActionRule] = Field(default_factory=_default_actions)
    tier_basis: Literal["spend", "points"] = "spend"
    tier_window_days: int = Field(default=365, ge=1)
    tier_review: Literal["month", "quarter", "year"] = "month"
    tier_grace_days: int = Field(default=30, ge=0)
    tiers: list[Tier] = Field(default_factory=_default_tiers)
    member_day: MemberDay | None = None
    plans: dict[str, Plan] = Field(default_factory=dict)
    checkin_ladder: list[int] = Field(default_factory=lambda: [5, 5, 10, 10, 15, 15, 30])
    checkin_cycle: bool = Field(default=True, description="Restart the ladder after its last day.")
    tasks: dict[str, Task] = Field(default_factory=_default_tasks)
    breakage_window_days: int = Field(default=365, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        if self.currency != self.currency.upper() or not self.currency.isalpha():
            raise ValueError("currency must be an upper-case 3-letter ISO 4217 code")
        codes = [t.code for t in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError("tier codes must be unique")
        if [t.threshold for t in self.tiers] != sorted(t.threshold for t in self.tiers):
            raise ValueError("tiers must be listed from the lowest threshold to the highest")
        if not self.checkin_ladder or any(p < 0 for p in self.checkin_ladder):
            raise ValueError("checkin_ladder needs at least one non-negative step")
        if self.member_day and any(not 1 <= d <= 31 for d in self.member_day.days_of_month):
            raise ValueError("member_day.days_of_month must be within 1..31")
        if self.member_day and any(not 0 <= d <= 6 for d in self.member_day.weekdays):
            raise ValueError("member_day.weekdays must be within 0..6")
        return self

    @property
    def scale(self) -> int:
        """10 ** the currency's exponent: minor units per major unit."""
        return int(10 ** exponent(self.currency))

    def tier(self, code: str | None) -> Tier | None:
        """The tier with this code, if the program still has it."""
        return next((t for t in self.tiers if t.code == code), None)

    def rank(self, code: str | None) -> int:
        """Position of a tier (-1 for none or a tier no longer defined)."""
        return next((i for i, t in enumerate(self.tiers) if t.code == code), -1)


def parse_program(data: object) -> Program:
    """Validate a program document, raising a loyalty error that names the bad field."""
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "program"
        raise ProgramInvalid(field=where, reason=first.get("msg", "")) from None


@lru_cache(maxsize=8)
def _default_program(currency: str) -> Program:
    return Program(currency=currency)


@lru_cache(maxsize=32)
def _parsed(version: int, text: str) -> Program:
    return parse_program(json.loads(text))


def current_program(session: Session) -> tuple[int, Program]:
    """The live program and its version (version 0: the built-in defaults, never saved)."""
    row = repository.latest_program(session)
    if row is None:
        from tenure.config import get_settings

        return 0, _default_program(get_settings().currency)
    return row.version, _parsed(row.version, row.config)


# What a saved program may hold. Checked on saving only, so a stored program always loads.
DAYS_MAX = 36_500  # any day count: dates a century on stay inside Python's years 1-9999
MULTIPLIER_BPS_MAX = 1_000_000  # 100x; three bonuses add up inside an Integer column


def check_storable(program: Program) -> None:
    """ProgramInvalid naming the first value that its column, or date arithmetic, cannot hold:
    check-in and task points and multipliers land in Integer columns, action, task and plan names
    in String(60) ones, and day counts are added to dates."""
    named: dict[str, list[str]] = {
        "actions": list(program.actions),
        "tasks": list(program.tasks),
        "plans": list(program.plans),
    }
    for where, keys in named.items():
        for key in keys:
            if not 1 <= len(key) <= PROGRAM_KEY_LENGTH or not key.isprintable():
                raise ProgramInvalid(
                    field=f"{where}.{key}",
                    reason=f"names are 1 to {PROGRAM_KEY_LENGTH} printable characters",
                )
    plans, tiers, bps = program.plans.items(), enumerate(program.tiers), MULTIPLIER_BPS_MAX
    day_bps = program.member_day.multiplier_bps if program.member_day else 0
    limits: list[tuple[str, int, int]] = [
        ("return_window_days", program.return_window_days, DAYS_MAX),
        ("expiry_days", program.expiry_days or 0, DAYS_MAX),
        ("reminder_days", program.reminder_days, DAYS_MAX),
        ("tier_window_days", program.tier_window_days, DAYS_MAX),
        ("tier_grace_days", program.tier_grace_days, DAYS_MAX),
        ("breakage_window_days", program.breakage_window_days, DAYS_MAX),
        ("reservation_minutes", program.reservation_minutes, DAYS_MAX * 24 * 60),
        *((f"plans.{k}.period_days", plan.period_days, DAYS_MAX) for k, plan in plans),
        *((f"plans.{k}.price_minor", plan.price_minor, MONEY_MAX) for k, plan in plans),
        *((f"plans.{k}.multiplier_bps", plan.multiplier_bps, bps) for k, plan in plans),
        *((f"tiers.{i}.multiplier_bps", t.multiplier_bps, bps) for i, t in tiers),
        ("member_day.multiplier_bps", day_bps, bps),
        *((f"checkin_ladder.{i}", n, INT32_MAX) for i, n in enumerate(program.checkin_ladder)),
        *((f"tasks.{k}.points", task.points, INT32_MAX) for k, task in program.tasks.items()),
    ]  # fmt: skip
    for field, value, limit in limits:
        if value > limit:
            raise ProgramInvalid(field=field, reason=f"must be at most {limit}")


def save_program(
    session: Session, data: object, now: datetime, note: str = "", expected: int | None = None
) -> tuple[int, Program]:
    """Validate and store a new version; `expected` guards against overwriting a newer edit.

    A document equal to the live program stores nothing and returns the live version: saving a
    file that was only shown (`program show > p.json; program set p.json`) is not a change."""
    program = parse_program(data)
    check_storable(program)
    version, live = current_program(session)
    if version > 0 and program == live:
        return version, live
    if expected is not None and expected != version:
        raise ProgramVersionConflict(expected=expected, current=version)
    row = ProgramVersion(
        version=version + 1,
        config=program.model_dump_json(),
        note=note[:500],
        created_at=now,
    )
    # The primary key on version makes two concurrent saves collide instead of both winning.
    repository.add(session, row)
    return row.version, program


def program_history(session: Session, limit: int = 20) -> list[ProgramVersion]:
    """Saved versions, newest first."""
    return repository.program_versions(session, limit)
