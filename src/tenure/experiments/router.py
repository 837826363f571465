"""Experiments over HTTP, under /v1/experiments.

- `admin` scope: documents, start / stop, results, the power calculator.
- `server` scope: `POST /{key}/assign` and `POST /evaluate`, what a shop's backend calls on
  each request (a few milliseconds: one read of the experiment, one of a carried assignment,
  and the exposure put in the tracking inbox).

The fixed paths (`/power`, `/evaluate`, `/validate`) come before `/{key}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response

from tenure.apikeys.auth import require
from tenure.experiments.analysis import analyse, check_events
from tenure.experiments.assignment import Assignment
from tenure.experiments.errors import InvalidPowerInput
from tenure.experiments.models import ExperimentRow
from tenure.experiments.schemas import (
    AssignmentOut,
    AssignRequest,
    EvaluateRequest,
    ExperimentOut,
    ExperimentResults,
    PowerOut,
    PowerRequest,
)
from tenure.experiments.service import documents
from tenure.experiments.service.assign import assign_units
from tenure.experiments.service.power import plan
from tenure.experiments.spec import KEY
from tenure.kit.bounds import INT32_MAX
from tenure.kit.time import utc_now
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse

router = APIRouter(tags=["experiments"])
ADMIN = [Depends(require("admin"))]
SERVER = [Depends(require("server"))]
Document = Body(..., description="The experiment document (docs/experiments.md)")
ExperimentKey = Annotated[str, Path(pattern=KEY)]


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _warehouse(request: Request) -> Warehouse:
    warehouse: Warehouse = request.app.state.warehouse
    return warehouse


def out(response: Response | None, row: ExperimentRow) -> ExperimentOut:
    """The experiment; its version is the ETag."""
    if response is not None:
        response.headers["ETag"] = f'"{row.version}"'
    return ExperimentOut(
        key=row.key, name=row.name, status=row.status, version=row.version,
        document=row.document, created_at=row.created_at, updated_at=row.updated_at,
        started_at=row.started_at, stopped_at=row.stopped_at, phase=row.phase,
        phase_started_at=row.phase_started_at,
    )  # fmt: skip


def assignment_out(found: Assignment) -> AssignmentOut:
    """An assignment as the API shows it."""
    return AssignmentOut(
        experiment=found.experiment, unit_id=found.unit_id, in_experiment=found.in_experiment,
        variant=found.variant, variant_index=found.variant_index, reason=found.reason,
    )  # fmt: skip


# ---- fixed paths ---------------------------------------------------------------------------


@router.post("/power", dependencies=ADMIN, summary="Units needed for a minimum detectable lift")
def power(body: PowerRequest) -> PowerOut:
    """Units per variant (and days, given the daily traffic) for the two-sided Welch test to
    detect a relative `lift` with the asked power."""
    try:
        return plan(body)
    except ValueError as exc:
        raise InvalidPowerInput(reason=str(exc)) from None


@router.post("/validate", dependencies=ADMIN, summary="Check an experiment document")
def validate(request: Request, document: dict[str, Any] = Document) -> dict[str, bool]:
    """`{"valid": true}`, or the 400 problem naming the first bad path. Saves nothing."""
    experiment = _database(request).read(lambda s: documents.validate(s, document))
    check_events(_warehouse(request), experiment)
    return {"valid": True}


@router.post("/evaluate", dependencies=SERVER, summary="Assign a unit in many experiments")
def evaluate(request: Request, body: EvaluateRequest) -> list[AssignmentOut]:
    """The unit's variant in each listed experiment (every running one when `keys` is empty),
    recording an exposure for each it is in unless `record` is false."""
    now = utc_now()
    found = _database(request).write(
        lambda s: assign_units(
            s, body.keys or None, body.user_id, body.anonymous_id, body.attributes, now, body.record
        )
    )
    return [assignment_out(a) for a in found]


# ---- experiments ---------------------------------------------------------------------------


@router.post("", dependencies=ADMIN, status_code=201, summary="Create an experiment")
def create(
    request: Request, response: Response, document: dict[str, Any] = Document
) -> ExperimentOut:
    """Save a new experiment as a draft (409 `experiment_exists` for a used key; 400
    `experiment_unknown_event` for a metric on an event the warehouse has never seen)."""
    now = utc_now()
    database = _database(request)
    check_events(_warehouse(request), database.read(lambda s: documents.validate(s, document)))
    row = database.write(lambda s: documents.create(s, document, now))
    response.headers["Location"] = f"{request.url.path}/{row.key}"
    return out(response, row)


@router.get("", dependencies=ADMIN, summary="Experiments")
def listing(
    request: Request, status: str | None = Query(None, pattern="^(draft|running|stopped)$")
) -> list[ExperimentOut]:
    """Every experiment, or those of one status, newest first."""
    return [out(None, r) for r in _database(request).read(lambda s: documents.listing(s, status))]


@router.get("/{key}", dependencies=ADMIN, summary="One experiment")
def show(request: Request, response: Response, key: ExperimentKey) -> ExperimentOut:
    """The experiment's state and document; the ETag is its version."""
    return out(response, _database(request).read(lambda s: documents.row(s, key)))


@router.put("/{key}", dependencies=ADMIN, summary="Change an experiment")
def update(
    request: Request,
    response: Response,
    key: ExperimentKey,
    document: dict[str, Any] = Document,
    if_match: str | None = Header(None, alias="If-Match", pattern=r'^\s*(W/)?"?[0-9]{1,9}"?\s*$'),
    expected_version: int | None = Query(None, ge=1, le=INT32_MAX),
) -> ExperimentOut:
    """Save the document; while running only weights, new variants, traffic, targeting,
    metrics and analysis settings may change (409 otherwise). A weight change moves the fewest
    units, and a change of weights, traffic or targeting starts a new phase."""
    now = utc_now()
    expected = int(if_match.strip().removeprefix("W/").strip('"')) if if_match else expected_version
    database = _database(request)
    check_events(_warehouse(request), database.read(lambda s: documents.validate(s, document)))
    row = database.write(lambda s: documents.update(s, key, document, now, expected))
    return out(response, row)


@router.post("/{key}/start", dependencies=ADMIN, summary="Start an experiment")
def start(request: Request, key: ExperimentKey) -> ExperimentOut:
    """Start assigning (409 unless a draft, or when its namespace range is taken)."""
    now = utc_now()
    return out(None, _database(request).write(lambda s: documents.start(s, key, now)))


@router.post("/{key}/stop", dependencies=ADMIN, summary="Stop an experiment")
def stop(request: Request, key: ExperimentKey) -> ExperimentOut:
    """Stop assigning; the results stay readable (409 unless running)."""
    now = utc_now()
    return out(None, _database(request).write(lambda s: documents.stop(s, key, now)))


@router.post("/{key}/assign", dependencies=SERVER, summary="Assign a unit to a variant")
def assign(request: Request, key: ExperimentKey, body: AssignRequest) -> AssignmentOut:
    """The unit's variant (or why it has none); the exposure is recorded unless `record` is
    false. A user who was assigned as an anonymous id keeps that variant after signing in."""
    now = utc_now()
    found = _database(request).write(
        lambda s: assign_units(
            s, [key], body.user_id, body.anonymous_id, body.attributes, now, body.record
        )
    )
    return assignment_out(found[0])


@router.get("/{key}/results", dependencies=ADMIN, summary="An experiment's results")
def results(
    request: Request,
    key: ExperimentKey,
    locale: str | None = Query(None, pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2,4})?$"),
    accept_language: str | None = Header(None, alias="Accept-Language"),
) -> ExperimentResults:
    """Every metric's lift, interval, chance to win and significance per variant, the SRM
    check and a verdict in `locale` (or the Accept-Language), 409 with no exposures."""
    row = _database(request).read(lambda s: documents.row(s, key))
    found = analyse(
        _warehouse(request), documents.spec_of(row), row.status, row.phase_started_at,
        row.stopped_at, locale or _first_language(accept_language), _database(request),
    )  # fmt: skip
    return found.model_copy(update={"phase": row.phase})


def _first_language(header: str | None) -> str | None:
    if not header:
        return None
    first = header.split(",")[0].split(";")[0].strip()
    return "zh-CN" if first.lower().startswith("zh") else first or None
