"""Query runners: a typed query, validated, built as an Ibis expression, run to a typed result."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict

from tenure.errors import BadRequest

Q = TypeVar("Q", bound="AnalyticsQuery")
R = TypeVar("R")


class AnalyticsQuery(BaseModel):
    """Base of every analytics query: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class InvalidQuery(BadRequest):
    """A query that cannot be answered as asked."""

    code = "analytics_invalid_query"


class Runner(Generic[Q, R]):
    """validate → build expressions → run; subclasses implement `validate` and `run`."""

    query_type: ClassVar[type[AnalyticsQuery]]

    def __init__(self, query: Q, zone: ZoneInfo = ZoneInfo("UTC")) -> None:
        self.query = query
        self.zone = zone

    def validate(self) -> None:
        """Raise InvalidQuery for questions the data model cannot answer."""

    def run(self, con: BaseBackend) -> R:
        """Answer the query on a warehouse connection."""
        raise NotImplementedError

    def __call__(self, con: BaseBackend) -> R:
        """Validate, then run."""
        self.validate()
        return self.run(con)
