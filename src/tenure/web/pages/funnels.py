"""Funnels and paths, two tabs. Funnel: a funnel built step by step from the warehouse's event
names (window, mode), users and drop-off per step with the funnel chart, and a CSV of who dropped
after a step. Paths: a Sankey of where sessions go after (or came from before) a start event,
with the top paths. Plain GET forms; an htmx request that targets a result area gets it alone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenure.analytics.funnels import RUNNERS, FunnelQuery, FunnelResult, funnel_runner
from tenure.analytics.funnels.query import MAX_STEPS
from tenure.analytics.funnels.runner import MAX_WINDOW_DAYS
from tenure.analytics.funnels.source import event_names
from tenure.analytics.paths import PathsQuery, paths_runner
from tenure.analytics.paths.query import MAX_PATH_STEPS
from tenure.errors import TenureError
from tenure.i18n import normalise, translate, use_locale
from tenure.operators.service import Who
from tenure.reports import charts
from tenure.reports.html import MAIN_FUNNEL
from tenure.web import render
from tenure.web.cache import answer, run
from tenure.web.deps import reader
from tenure.web.pages.retention import is_fragment

router = APIRouter(include_in_schema=False)

MODES: tuple[str, ...] = tuple(RUNNERS)
DIRECTIONS = ("after", "before")
BUILDER = "funnel-builder"  # the element the funnel form's htmx requests swap
PATHS = "paths-result"  # the element the paths form's htmx requests swap
PATH_START = "Session Started"
MAX_TOP = 50
MAX_SHOWN_ERRORS = 5
LIMITS: dict[str, Any] = {
    "max_window": MAX_WINDOW_DAYS,
    "max_steps": MAX_STEPS,
    "max_depth": MAX_PATH_STEPS,
    "max_top": MAX_TOP,
}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DROPPED_COLUMNS = ("user_id", "anonymous_id", "reached_at")
# Controls whose refusal has its own message: web.funnels.invalid.<field> for the funnel,
# web.funnels.invalid.path_<field> for the paths.
FUNNEL_FIELDS = ("steps", "window", "mode")
PATH_FIELDS = ("steps", "top", "direction")

StepList = Annotated[list[str] | None, Query()]


class FunnelControls(BaseModel):
    """A funnel as the form asks for it: event steps, a window in days, a mode."""

    model_config = ConfigDict(frozen=True)

    steps: tuple[str, ...]
    window: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS)
    mode: Literal["ordered", "strict", "unordered"] = "ordered"

    def query(self) -> FunnelQuery:
        """The runner's question."""
        return FunnelQuery(steps=self.steps, mode=self.mode, window=timedelta(days=self.window))

    def link(self) -> str:
        """This funnel as a query string (the page's address and the CSV links)."""
        pairs = [("step", s) for s in self.steps]
        return urlencode([*pairs, ("window", str(self.window)), ("mode", self.mode)])


class PathControls(BaseModel):
    """The Sankey's start event (None: the session's start or end), length, count, direction."""

    model_config = ConfigDict(frozen=True)

    start: str | None = None
    steps: int = Field(default=4, ge=1, le=MAX_PATH_STEPS)
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    direction: Literal["after", "before"] = "after"

    def query(self) -> PathsQuery:
        """The runner's question."""
        return PathsQuery(
            start=self.start, steps=self.steps, top=self.top, direction=self.direction
        )


@router.get("/funnels", response_class=HTMLResponse)
def funnels(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    step: StepList = None,
    window: str | None = None,
    mode: str | None = None,
    add: str | None = None,
    remove: str | None = None,
) -> Response:
    """The funnel tab: the builder and its result; only the builder for an htmx request."""
    with use_locale(who.locale):
        values = _builder(request, who, step, window, mode, add=add, remove=remove)
        fragment = is_fragment(request, BUILDER)
        canonical = f"/funnels?{values['link']}" if values["link"] else None
        edited = add is not None or remove is not None
        if canonical and edited and not fragment and not values["errors"]:
            # The steps changed: show them at an address that does not change them again.
            return RedirectResponse(canonical, status_code=303)
        refused = values["errors"] and values["result"] is None
        # htmx swaps only a 2xx answer: a fragment carries its message with a 200.
        status = 400 if refused and not fragment else 200
        template = "_funnels_builder.html" if fragment else "funnels.html"
        response = render.page(request, who, template, status_code=status, **values)
        if fragment and canonical:
            response.headers["HX-Push-Url"] = canonical
        return response


@router.get("/funnels/dropped.csv")
def dropped_csv(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    step: StepList = None,
    window: str | None = None,
    mode: str | None = None,
    dropped_at: str | None = None,
) -> Response:
    """Who reached step `dropped_at` but not the next, as CSV; a bad request shows the page."""
    with use_locale(who.locale):
        settings = request.app.state.settings
        with request.app.state.warehouse.reader() as con:
            names = event_names(con)
            asked = step or _default_steps(names)
            _, controls, errors = _controls(names, asked, window, mode)
            at = _whole(dropped_at)
            if controls is not None and (at is None or not 1 <= at < len(controls.steps)):
                errors.append(
                    translate("web.funnels.invalid.dropped_at", last=len(controls.steps) - 1)
                )
            if controls is not None and at is not None and not errors:
                try:
                    dropped = funnel_runner(controls.query(), settings.zone).dropped(con, at)
                except TenureError as exc:
                    errors.append(exc.message)
                else:
                    rows = ((u.user_id, u.anonymous_id, u.reached_at) for u in dropped.users)
                    return Response(
                        csv_text(DROPPED_COLUMNS, rows),
                        media_type="text/csv; charset=utf-8",
                        headers={
                            "Content-Disposition": (
                                f'attachment; filename="funnel-dropped-after-step-{at}.csv"'
                            ),
                            "X-Content-Type-Options": "nosniff",
                            "Cache-Control": "no-store",
                        },
                    )
        values = _builder(request, who, step, window, mode)
        values["errors"] = list(dict.fromkeys([*errors, *values["errors"]]))
        return render.page(request, who, "funnels.html", status_code=400, **values)


@router.get("/funnels/paths", response_class=HTMLResponse)
def paths(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    start: str | None = None,
    steps: str | None = None,
    top: str | None = None,
    direction: str | None = None,
) -> HTMLResponse:
    """The paths tab: the Sankey and the top paths; only the result for an htmx request."""
    with use_locale(who.locale):
        settings = request.app.state.settings
        raw = {
            k: v.strip()
            for k, v in (("steps", steps), ("top", top), ("direction", direction))
            if v is not None
        }
        values: dict[str, Any] = {"tab": "paths", "paths": None, "paths_figure": None}
        names = _names(request)
        chosen = _path_start(names) if start is None else (start.strip() or None)
        errors: list[str] = []
        if chosen is not None and chosen not in names:
            errors.append(translate("web.funnels.unknown_event", event=chosen))
        try:
            controls = PathControls.model_validate({**raw, "start": chosen})
        except ValidationError as exc:
            errors += _messages(exc, "web.funnels.invalid.path_", PATH_FIELDS)
            controls = None
        if controls is not None and not errors:
            try:
                result = run(request, paths_runner(controls.query(), settings.zone))
            except TenureError as exc:
                errors.append(exc.message)
            else:
                figure = charts.paths_sankey(result)
                figure.update_layout(title=_paths_title(result.start, result.direction))
                values.update(paths=result, paths_figure=figure)
        shown = PathControls()
        values.update(
            names=names,
            paths_errors=errors,
            path_form={
                "start": chosen or "",
                "steps": raw.get("steps", str(shown.steps)),
                "top": raw.get("top", str(shown.top)),
                "direction": raw.get("direction", shown.direction),
            },
            directions=DIRECTIONS,
            limits=LIMITS,
        )
        fragment = is_fragment(request, PATHS)
        status = 400 if errors and not fragment else 200
        template = "_funnels_paths.html" if fragment else "funnels.html"
        return render.page(request, who, template, status_code=status, **values)


def _builder(
    request: Request,
    who: Who,
    asked: list[str] | None,
    window: str | None,
    mode: str | None,
    *,
    add: str | None = None,
    remove: str | None = None,
) -> dict[str, Any]:
    """The builder's state: the steps after an add or remove, messages, the funnel's result."""
    settings = request.app.state.settings
    result: FunnelResult | None = None
    names = _names(request)
    steps = [s.strip() for s in asked] if asked else _default_steps(names)
    errors = _edit(steps, names, add, remove)
    steps, controls, more = _controls(names, steps, window, mode)
    errors += more
    if controls is not None and not errors:
        result, failed = _run(request, controls, settings.zone)
        errors += failed
    figure = None
    if result is not None:
        figure = charts.funnel(result)
        days = result.window_seconds // 86400
        figure.update_layout(title=translate("web.funnels.chart", days=days))
    locale = normalise(who.locale)
    return {
        "names": names,
        "steps": steps,
        "form": {"window": (window or "7").strip(), "mode": (mode or "ordered").strip()},
        "modes": MODES,
        "directions": DIRECTIONS,
        "limits": LIMITS,
        "errors": errors,
        "result": result,
        "figure": figure,
        "link": controls.link() if controls is not None else "",
        "duration": lambda seconds: _duration(seconds, locale),
        "tab": "funnel",
    }


def _names(request: Request) -> list[str]:
    """The shop's event names, through the console's cache."""

    def compute() -> list[str]:
        with request.app.state.warehouse.reader() as con:
            return event_names(con)

    return answer(request, ("event_names",), compute)


def _run(
    request: Request, controls: FunnelControls, zone: ZoneInfo
) -> tuple[FunnelResult | None, list[str]]:
    """The funnel, or the runner's refusal as a message."""
    try:
        return run(request, funnel_runner(controls.query(), zone)), []
    except TenureError as exc:
        return None, [exc.message]


def _default_steps(names: list[str]) -> list[str]:
    """The purchase funnel's events the shop sends, else its first two event names."""
    steps = [s for s in MAIN_FUNNEL if s in names]
    return steps if len(steps) >= 2 else names[:2]


def _path_start(names: list[str]) -> str | None:
    return PATH_START if PATH_START in names else None


def _edit(steps: list[str], names: list[str], add: str | None, remove: str | None) -> list[str]:
    """Apply the form's add / remove buttons to `steps` in place; messages for bad ones."""
    errors = []
    if remove is not None:
        index = _whole(remove)
        if index is not None and 0 <= index < len(steps):
            del steps[index]
        else:
            errors.append(translate("web.funnels.invalid.remove"))
    if add is not None:
        if len(steps) >= MAX_STEPS:
            errors.append(translate("web.funnels.invalid.steps", **LIMITS))
        elif names:
            steps.append(next((n for n in names if n not in steps), names[0]))
    return errors


def _controls(
    names: list[str], steps: Iterable[str], window: str | None, mode: str | None
) -> tuple[list[str], FunnelControls | None, list[str]]:
    """The steps as given, the checked controls (None when refused) and the messages."""
    steps = [s.strip() for s in steps]
    errors: list[str] = []
    if not names:
        return steps, None, [translate("web.funnels.no_events")]
    if any(not s for s in steps):
        errors.append(translate("web.funnels.blank_step"))
    unknown = list(dict.fromkeys(s for s in steps if s and s not in names))
    errors += [translate("web.funnels.unknown_event", event=s) for s in unknown[:MAX_SHOWN_ERRORS]]
    if not 2 <= len(steps) <= MAX_STEPS:
        errors.append(translate("web.funnels.invalid.steps", **LIMITS))
    raw: dict[str, Any] = {"steps": steps}
    if window is not None and window.strip():
        raw["window"] = window.strip()
    if mode is not None and mode.strip():
        raw["mode"] = mode.strip()
    try:
        controls = FunnelControls.model_validate(raw)
    except ValidationError as exc:
        return steps, None, errors + _messages(exc, "web.funnels.invalid.", FUNNEL_FIELDS)
    return steps, (controls if not errors else None), errors


def _messages(exc: ValidationError, prefix: str, known: Sequence[str]) -> list[str]:
    """One message per refused control (the catalogue holds `<prefix><field>` for each)."""
    fields = list(dict.fromkeys(str((e.get("loc") or ("",))[0]) for e in exc.errors()))
    found = [translate(prefix + f, **LIMITS) for f in fields if f in known]
    return found or [translate("web.funnels.invalid", reason=str(exc.errors()[0].get("msg")))]


def _whole(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "–"
    return format_timedelta(timedelta(seconds=seconds), locale=locale)


def _paths_title(start: str | None, direction: str) -> str:
    if start is None:
        return translate(f"web.funnels.paths_chart.session_{direction}")
    return translate(f"web.funnels.paths_chart.{direction}", start=start)


def spreadsheet_safe(value: object) -> str:
    """A cell as text that a spreadsheet shows and never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV with a header row, every cell quoted as needed and spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return buffer.getvalue()
