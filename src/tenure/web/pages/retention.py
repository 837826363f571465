"""Retention: the cohort heatmap (or value retention), day-N curves and the cohort table, with
controls (period, first or recurring cohorts, activity, users or revenue, periods, day-N columns,
breakdown) in a GET form; a breakdown adds the segments side by side and a segment picker. An htmx
request that targets the result area gets it alone."""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenure.analytics.activity import Activity
from tenure.analytics.retention import RetentionQuery, RetentionResult, RetentionRunner
from tenure.analytics.retention.query import Breakdown
from tenure.analytics.retention.summary import segment_curves
from tenure.errors import TenureError
from tenure.i18n import normalise, translate, use_locale
from tenure.kit.formats import Formats
from tenure.operators.service import Who
from tenure.reports import charts
from tenure.web import render
from tenure.web.cache import run
from tenure.web.deps import reader

router = APIRouter(include_in_schema=False)

PERIODS = ("day", "week", "month")
ACTIVITIES = ("order", "any_event", "any")
COHORTS = ("first", "recurring")
MEASURES = ("users", "revenue")
BREAKDOWNS: tuple[str, ...] = get_args(Breakdown)
MAX_PERIODS = 400  # RetentionQuery's own bound
MAX_DAY = 3660  # day N up to ten years, as the query allows
MAX_DAY_COLUMNS = 12
TARGET = "retention-result"  # the element the form's htmx requests swap
# The field each control's message names (the catalogue holds web.retention.invalid.<field>).
FIELDS = ("period", "periods", "activity", "cohorts", "measure", "breakdown", "days")
LIMITS: dict[str, Any] = {
    "max_periods": MAX_PERIODS,
    "max_day": MAX_DAY,
    "columns": MAX_DAY_COLUMNS,
}

DayN = Annotated[int, Field(ge=1, le=MAX_DAY)]


class Controls(BaseModel):
    """The form's values, checked; blank values mean the defaults."""

    model_config = ConfigDict(frozen=True)

    period: Literal["day", "week", "month"] = "week"
    periods: int = Field(default=12, ge=1, le=MAX_PERIODS)
    activity: Literal["order", "any_event", "any"] = "order"
    cohorts: Literal["first", "recurring"] = "first"
    measure: Literal["users", "revenue"] = "users"
    breakdown: Breakdown | None = None
    days: tuple[DayN, ...] = Field(default=(1, 7, 14, 30, 60), min_length=1, max_length=12)
    segment: str | None = None

    @field_validator("breakdown", "segment", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("days", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(value.replace(",", " ").split()) if isinstance(value, str) else value

    @field_validator("days")
    @classmethod
    def _ordered(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(set(value)))

    def query(self) -> RetentionQuery:
        """The runner's question: the same activity starts a cohort and brings a member back."""
        activity = Activity(kind=self.activity)
        return RetentionQuery(
            period=self.period,
            periods=self.periods,
            start=activity,
            returning=activity,
            start_mode=self.cohorts,
            days=self.days,
            breakdown=self.breakdown,
        )

    def link(self) -> str:
        """The query string of these controls (without the segment), for the segment links."""
        return urlencode(
            {
                "period": self.period,
                "periods": self.periods,
                "activity": self.activity,
                "cohorts": self.cohorts,
                "measure": self.measure,
                "breakdown": self.breakdown or "",
                "days": ",".join(str(d) for d in self.days),
            }
        )


DEFAULTS = Controls()
DEFAULT_FORM: dict[str, str] = {
    "period": DEFAULTS.period,
    "periods": str(DEFAULTS.periods),
    "activity": DEFAULTS.activity,
    "cohorts": DEFAULTS.cohorts,
    "measure": DEFAULTS.measure,
    "breakdown": "",
    "days": ", ".join(str(d) for d in DEFAULTS.days),
}


@router.get("/retention", response_class=HTMLResponse)
def retention(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    period: str | None = None,
    periods: str | None = None,
    activity: str | None = None,
    cohorts: str | None = None,
    measure: str | None = None,
    breakdown: str | None = None,
    days: str | None = None,
    segment: str | None = None,
) -> HTMLResponse:
    """The whole page, or only the result area for the form's htmx requests."""
    asked = {
        "period": period,
        "periods": periods,
        "activity": activity,
        "cohorts": cohorts,
        "measure": measure,
        "breakdown": breakdown,
        "days": days,
        "segment": segment,
    }
    raw = {k: v.strip() for k, v in asked.items() if v is not None}
    with use_locale(who.locale):
        values = _view(request, raw)
        values["cells"] = cell_formats(request, who)
        fragment = is_fragment(request, TARGET)
        refused = values["errors"] and values["result"] is None
        # htmx swaps only a 2xx answer: a fragment carries its message with a 200.
        status = 400 if refused and not fragment else 200
        template = "_retention_result.html" if fragment else "retention.html"
        return render.page(request, who, template, status_code=status, **values)


def cell_formats(request: Request, who: Who) -> SimpleNamespace:
    """`fmt.number`, `fmt.percent` and `fmt.money` remembered for one page: a cohort table
    formats the same few values hundreds of times, and each Babel call parses its pattern."""
    settings = request.app.state.settings
    formats = Formats(normalise(who.locale), settings.currency, settings.zone)
    return SimpleNamespace(
        number=lru_cache(maxsize=4096)(formats.number),
        percent=lru_cache(maxsize=4096)(formats.percent),
        money=lru_cache(maxsize=4096)(formats.money),
    )


def is_fragment(request: Request, target: str) -> bool:
    """An htmx request that swaps `target` (a history restore wants the whole page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-target") == target
        and headers.get("hx-history-restore-request") != "true"
    )


def _view(request: Request, raw: dict[str, str]) -> dict[str, Any]:
    """Everything the templates show: the controls as typed, messages, the result and figures."""
    form = {**DEFAULT_FORM, **{k: v for k, v in raw.items() if k != "segment"}}
    values: dict[str, Any] = {
        "form": form,
        "options": {
            "period": PERIODS,
            "activity": ACTIVITIES,
            "cohorts": COHORTS,
            "measure": MEASURES,
            "breakdown": BREAKDOWNS,
        },
        "limits": LIMITS,
        "errors": [],
        "result": None,
    }
    try:
        controls = Controls.model_validate(raw)
        query = controls.query()
    except ValidationError as exc:
        values["errors"] = _messages(exc)
        return values
    except TenureError as exc:
        values["errors"] = [exc.message]
        return values
    try:
        result = run(request, RetentionRunner(query, request.app.state.settings.zone))
    except TenureError as exc:
        values["errors"] = [exc.message]
        return values
    curves = segment_curves(result)
    chosen = controls.segment if controls.breakdown else None
    if chosen is not None and chosen not in {c.segment for c in curves}:
        values["errors"].append(translate("web.retention.unknown_segment", segment=chosen))
        chosen = None
    if controls.breakdown and chosen is None and curves:
        chosen = curves[0].segment
    view = result.model_copy(
        update={
            "cohorts": [c for c in result.cohorts if c.segment == chosen],
            "day_n": [d for d in result.day_n if d.segment == chosen],
        }
    )
    values.update(
        result=result,
        view=view,
        controls=controls,
        curves=curves if controls.breakdown else [],
        segment=chosen,
        link=controls.link(),
        offsets=list(range(controls.periods + 1)),
        figures=_figures(result, view, controls),
    )
    return values


def _messages(exc: ValidationError) -> list[str]:
    """One message per control that was refused, in the operator's language."""
    fields: list[str] = []
    for error in exc.errors():
        loc = error.get("loc") or ("",)
        field = {"start_mode": "cohorts"}.get(str(loc[0]), str(loc[0]))
        if field in FIELDS and field not in fields:
            fields.append(field)
    if not fields:
        return [translate("web.retention.invalid", reason=str(exc.errors()[0].get("msg", "")))]
    return [translate(f"web.retention.invalid.{field}", **LIMITS) for field in fields]


def _figures(
    result: RetentionResult, view: RetentionResult, controls: Controls
) -> dict[str, go.Figure]:
    """The report's figures, titled for the console's controls."""
    unit = translate(f"web.retention.unit.{controls.period}")
    offset_axis = translate("web.retention.axis.offset", unit=unit)
    figures: dict[str, go.Figure] = {}
    if controls.measure == "users" and view.cohorts:
        heatmap = charts.cohort_heatmap(view)
        heatmap.update_layout(
            title=translate(f"web.retention.chart.heatmap.{controls.activity}", unit=unit),
            xaxis_title=offset_axis,
        )
        figures["heatmap"] = heatmap
    if controls.measure == "revenue" and result.cohorts:
        ltv = charts.ltv_by_segment(result)
        ltv.update_layout(
            title=translate("web.retention.chart.ltv", unit=unit),
            xaxis_title=offset_axis,
            yaxis_title=translate("web.retention.axis.ltv", currency=result.currency or ""),
        )
        if controls.breakdown is None:
            ltv.update_traces(name=translate("web.retention.everyone"))
        figures["ltv"] = ltv
    if view.day_n:
        curves = charts.day_n_curves(view)
        for trace, key in zip(curves.data, ("on_day", "on_or_after", "within"), strict=False):
            trace.name = translate(f"web.retention.series.{key}")
        curves.update_layout(
            title=translate("web.retention.chart.day_n"),
            xaxis_title=translate("web.retention.axis.day"),
        )
        figures["day_n"] = curves
    return figures
