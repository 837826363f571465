"""Experiments: the list with a document form to create one, and one experiment's document,
start / stop, and its results (every metric's lift, interval, corrected p-value, chance to win,
the SRM check and the verdict in the operator's language), loaded by htmx."""

from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.errors import TenureError
from tenure.experiments.analysis import analyse, check_events
from tenure.experiments.errors import NoExposures
from tenure.experiments.service import documents
from tenure.i18n import use_locale
from tenure.kit.bounds import INT32_MAX
from tenure.kit.time import utc_now
from tenure.operators.service import Who
from tenure.web import render
from tenure.web.deps import admin, database, reader

router = APIRouter(include_in_schema=False)

PAGE = 50
STATUSES = ("draft", "running", "stopped")
BADGE = {"running": "running"}  # status → tenure.css badge class
REASONS = ("no_units", "zero_variance", "baseline_zero")  # verdict.reason.* in the catalogue
Action = Literal["start", "stop"]
ExperimentKeyPath = Annotated[str, Path(min_length=1, max_length=200)]
StatusQuery = Annotated[str | None, Query(pattern="^(draft|running|stopped)?$")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX)]
Document = Annotated[str, Form(max_length=200_000)]


def _url(key: str) -> str:
    return "/experiments/" + quote(key, safe="")


def _listing(
    request: Request,
    who: Who,
    status: str | None,
    offset: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    document: str = "",
) -> HTMLResponse:
    rows, total = database(request).read(lambda s: documents.listing_page(s, status, offset, PAGE))
    return render.page(
        request,
        who,
        "experiments.html",
        status_code=status_code,
        experiments=[(row, documents.spec_of(row)) for row in rows],
        total=total,
        offset=offset,
        page_size=PAGE,
        status=status or "",
        statuses=STATUSES,
        badge=BADGE,
        error=error,
        document=document,
    )


@router.get("/experiments", response_class=HTMLResponse)
def experiment_list(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    status: StatusQuery = None,
    offset: Offset = 0,
) -> HTMLResponse:
    with use_locale(who.locale):
        return _listing(request, who, status or None, offset)


@router.post("/experiments", response_class=HTMLResponse)
def create_experiment(
    request: Request, who: Annotated[Who, Depends(admin)], document: Document = ""
) -> Response:
    """Save a JSON or YAML document as a draft experiment, checked as the API checks it (its
    segment exists, its metrics' events are in the warehouse)."""
    with use_locale(who.locale):
        now = utc_now()
        db = database(request)
        try:
            check_events(
                request.app.state.warehouse, db.read(lambda s: documents.validate(s, document))
            )
            row = db.write(lambda s: documents.create(s, document, now))
        except TenureError as exc:
            return _listing(
                request, who, None, 0, status_code=exc.status, error=exc.message,
                document=document,
            )  # fmt: skip
        return RedirectResponse(_url(row.key), status_code=303)


def _missing(
    request: Request, who: Who, error: TenureError, fragment: bool = False
) -> HTMLResponse:
    if fragment:
        return render.page(
            request, who, "_experiments_gone.html", status_code=error.status, error=error.message
        )
    return render.missing(
        request,
        who,
        error,
        title="web.experiments.missing_title",
        back="/experiments",
        back_label="web.experiments.back",
    )


def _detail(
    request: Request, who: Who, key: str, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    try:
        row = database(request).read(lambda s: documents.row(s, key))
    except TenureError as exc:
        return _missing(request, who, exc)
    return render.page(
        request,
        who,
        "experiment.html",
        status_code=status_code,
        row=row,
        experiment=documents.spec_of(row),
        document=json.dumps(row.document, indent=2, ensure_ascii=False),
        badge=BADGE,
        error=error,
    )


@router.get("/experiments/{key}", response_class=HTMLResponse)
def experiment_detail(
    request: Request, who: Annotated[Who, Depends(reader)], key: ExperimentKeyPath
) -> HTMLResponse:
    with use_locale(who.locale):
        return _detail(request, who, key)


@router.get("/experiments/{key}/results", response_class=HTMLResponse)
def experiment_results(
    request: Request, who: Annotated[Who, Depends(reader)], key: ExperimentKeyPath
) -> HTMLResponse:
    """The results fragment; with nobody exposed yet, the service's message as an empty state."""
    with use_locale(who.locale):
        db = database(request)
        try:
            row = db.read(lambda s: documents.row(s, key))
        except TenureError as exc:
            return _missing(request, who, exc, fragment=True)
        experiment = documents.spec_of(row)
        empty = failed = None
        found = None
        try:
            found = analyse(
                request.app.state.warehouse, experiment, row.status, row.phase_started_at,
                row.stopped_at, who.locale, db,
            )  # fmt: skip
        except NoExposures as exc:
            empty = exc.message
        except TenureError as exc:
            failed = exc.message
        return render.page(
            request,
            who,
            "_experiments_results.html",
            row=row,
            experiment=experiment,
            results=found,
            empty=empty,
            failed=failed,
            reasons=REASONS,
            weights={v.key: v.weight for v in experiment.variants},
        )


@router.post("/experiments/{key}/{action}", response_class=HTMLResponse)
def experiment_action(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    key: ExperimentKeyPath,
    action: Action,
) -> Response:
    """Start assigning, or stop for good (results stay readable)."""
    with use_locale(who.locale):
        now = utc_now()
        change = documents.start if action == "start" else documents.stop
        try:
            database(request).write(lambda s: change(s, key, now))
        except TenureError as exc:
            if exc.status == 404:
                return _missing(request, who, exc)
            return _detail(request, who, key, status_code=exc.status, error=exc.message)
        return RedirectResponse(_url(key), status_code=303)
