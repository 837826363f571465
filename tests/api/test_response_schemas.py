"""Every loyalty, referral and group-buy operation publishes a named response schema, and the
response models carry every field of the domain values they are built from (nothing dropped)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from tenure.api.app import create_app
from tenure.config import Settings
from tenure.loyalty import checkout, jobs, liability, membership, points, repository, service, tasks
from tenure.loyalty.checkin import service as checkin
from tenure.loyalty.schemas import (
    AccountOut,
    BalancesOut,
    BenefitsOut,
    CalendarOut,
    LiabilityOut,
    LoyaltyDueOut,
    MembershipStatusOut,
    PointsQuoteOut,
    TaskOut,
    TierChangeOut,
)
from tenure.referrals import jobs as referral_jobs
from tenure.referrals import service as referral_service
from tenure.referrals.schemas import ReferralsDueOut, ReferrerProgressOut
from tenure.storage.database import Database

PREFIXES = ("/v1/loyalty", "/v1/referrals")
_REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app's OpenAPI document."""
    home = tmp_path_factory.mktemp("home")
    document: dict[str, Any] = create_app(Settings(home=home, inbox_flush_seconds=0)).openapi()
    return document


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, status, response) for each 2xx response of the domains' operations."""
    return [
        (method.upper(), path, status, response)
        for path, item in openapi["paths"].items()
        if path.startswith(PREFIXES)
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith("2")
    ]


def _named(schema: dict[str, Any] | None, components: dict[str, Any]) -> bool:
    """A `$ref` to a named component, or an array of them."""
    if schema is None:
        return False
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    ref = schema.get("$ref", "")
    return ref.startswith(_REF) and ref.removeprefix(_REF) in components


class TestResponseSchemas:
    def test_every_operation_answers_with_a_named_schema(self, openapi: dict[str, Any]) -> None:
        components = openapi["components"]["schemas"]
        untyped = [
            f"{method} {path} {status}"
            for method, path, status, response in _operations(openapi)
            if not _named(
                response.get("content", {}).get("application/json", {}).get("schema"), components
            )
        ]
        assert untyped == []

    def test_the_check_covers_loyalty_referrals_and_group_buys(
        self, openapi: dict[str, Any]
    ) -> None:
        paths = {path for _, path, _, _ in _operations(openapi)}
        assert len(_operations(openapi)) >= 50
        assert any(p.startswith("/v1/loyalty/program") for p in paths)
        assert any(p.startswith("/v1/referrals/group-buys") for p in paths)

    def test_tier_changes_keep_their_from_and_to_keys(self, openapi: dict[str, Any]) -> None:
        schema = openapi["components"]["schemas"]["TierChangeOut"]
        assert list(schema["properties"]) == ["kind", "from", "to", "value", "at"]
        change = TierChangeOut(
            kind="manual", from_tier=None, to_tier="gold", value=0, at=datetime(2024, 1, 1)
        )
        assert change.model_dump(mode="json") == {
            "kind": "manual",
            "from": None,
            "to": "gold",
            "value": 0,
            "at": "2024-01-01T00:00:00",
        }


@pytest.mark.parametrize(
    ("model", "value"),
    [
        (AccountOut, points.Summary),
        (BalancesOut, repository.Balances),
        (MembershipStatusOut, membership.Status),
        (BenefitsOut, service.Benefits),
        (CalendarOut, checkin.Calendar),
        (TaskOut, tasks.TaskState),
        (PointsQuoteOut, checkout.Quote),
        (LiabilityOut, liability.Liability),
        (LoyaltyDueOut, jobs.DueResult),
    ],
)
def test_a_model_built_from_a_domain_value_has_each_of_its_fields_in_order(
    model: type[BaseModel], value: type[Any]
) -> None:
    assert list(model.model_fields) == [f.name for f in fields(value)]


def test_the_referrer_progress_is_the_progress_plus_its_link() -> None:
    names = [f.name for f in fields(referral_service.Progress)]
    assert list(ReferrerProgressOut.model_fields) == [*names, "link"]


def test_the_referral_due_run_has_each_count_the_jobs_return(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'tenure.db'}")
    database.upgrade()
    counts = referral_jobs.run_due(database, ZoneInfo("UTC"), datetime.now(UTC))
    assert list(ReferralsDueOut.model_fields) == list(counts)
