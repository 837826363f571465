"""Segments: the saved segments with their member counts, a rule builder with a live count,
saving (admin), a segment's members page with refresh and delete (admin), and the CSV export."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from tenure.analytics.features import data_end
from tenure.errors import TenureError
from tenure.i18n import use_locale
from tenure.kit.bounds import INT32_MAX, ONE_LINE, SEGMENT_KEY_LENGTH, Line, Text
from tenure.kit.time import utc_now
from tenure.operators.service import Who
from tenure.segments import runs, service
from tenure.segments.errors import SegmentNotFound
from tenure.web import render
from tenure.web.deps import admin, database, reader

router = APIRouter(include_in_schema=False)

PAGE = 50
SAMPLE = 10
ROWS = 6  # condition rows the builder shows at least
MAX_ROWS = 20
RULE_LENGTH = 8000  # a written rule travels in the live count's URL
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = Annotated[str, StringConstraints(max_length=2000, pattern=ONE_LINE)]


@dataclass
class Builder:
    """What the builder form holds (to show it again after a refusal or from a link)."""

    combine: str = "all"
    fields: list[str] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    rule: str = ""
    key: str = ""
    name: str = ""
    description: str = ""

    def rows(self) -> list[tuple[str, str, str]]:
        """The typed rows, padded with blank ones for the form."""
        n = max(len(self.fields), len(self.ops), len(self.values))
        typed = [
            (_at(self.fields, i), _at(self.ops, i) or "eq", _at(self.values, i)) for i in range(n)
        ]
        filled = [row for row in typed if row[0].strip()]
        blanks = max(ROWS - len(filled), 1) if len(filled) < MAX_ROWS else 0
        return filled + [("", "eq", "")] * blanks

    def document(self) -> Any:
        """The rule to count or save: the JSON/YAML text when given, else the rows."""
        if self.rule.strip():
            return self.rule
        return service.rule_from_rows(self.combine, self.rows())


def _at(items: list[str], i: int) -> str:
    return items[i] if i < len(items) else ""


def _listing(request: Request, who: Who, builder: Builder, **extra: Any) -> HTMLResponse:
    segments = database(request).read(service.list_segments)
    status = extra.pop("status_code", 200)
    return render.page(
        request,
        who,
        "segments.html",
        status_code=status,
        segments=segments,
        builder=builder,
        fields=service.rule_fields(),
        operators=service.rule_operators(),
        error=extra.pop("error", None),
        **extra,
    )


@router.get("/segments", response_class=HTMLResponse)
def segments(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    combine: Annotated[str, Query(max_length=3)] = "all",
    field_: Annotated[list[Cell], Query(alias="field", max_length=MAX_ROWS)] = [],  # noqa: B006
    op: Annotated[list[Cell], Query(max_length=MAX_ROWS)] = [],  # noqa: B006
    value: Annotated[list[Cell], Query(max_length=MAX_ROWS)] = [],  # noqa: B006
) -> HTMLResponse:
    """Saved segments and the builder (rows may come prefilled from a link, e.g. the RFM table)."""
    with use_locale(who.locale):
        builder = Builder(combine=combine, fields=field_, ops=op, values=value)
        return _listing(request, who, builder)


BUILDER_PARAMS = ("combine", "field", "op", "value", "rule")


@router.get("/segments/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    who: Annotated[Who, Depends(reader)],
    combine: Annotated[Line, Query(max_length=3)] = "all",
    field_: Annotated[list[Cell], Query(alias="field", max_length=MAX_ROWS)] = [],  # noqa: B006
    op: Annotated[list[Cell], Query(max_length=MAX_ROWS)] = [],  # noqa: B006
    value: Annotated[list[Cell], Query(max_length=MAX_ROWS)] = [],  # noqa: B006
    rule: Annotated[Text, Query(max_length=RULE_LENGTH)] = "",
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    """The live count of the builder's rule (it only reads, so a GET): how many customers match
    now, and a few ids. Without any builder field it is the page of a segment keyed `preview`."""
    if not any(name in request.query_params for name in BUILDER_PARAMS):
        return segment(request, "preview", who, offset)
    settings = request.app.state.settings
    with use_locale(who.locale):
        builder = Builder(combine=combine, fields=field_, ops=op, values=value, rule=rule)
        count: int | None = None
        sample: list[str] = []
        as_of: date | None = None
        error: str | None = None
        empty = not rule.strip() and not any(f.strip() for f in field_)
        if not empty:
            try:
                document = builder.document()
                with request.app.state.warehouse.reader() as con:
                    day = data_end(con, settings.zone) or date.today()
                    as_of = day
                    count, sample = database(request).read(
                        lambda s: service.preview(s, con, document, settings.zone, day, SAMPLE)
                    )
            except TenureError as exc:
                error = exc.message
        return render.page(
            request,
            who,
            "_segments_preview.html",
            empty=empty,
            count=count,
            sample=sample,
            as_of=as_of,
            error=error,
        )


@router.post("/segments", response_class=HTMLResponse)
def create(
    request: Request,
    who: Annotated[Who, Depends(admin)],
    key: Annotated[Line, Form(max_length=SEGMENT_KEY_LENGTH)] = "",
    name: Annotated[Line, Form(max_length=200)] = "",
    description: Annotated[Text, Form(max_length=2000)] = "",
    combine: Annotated[Line, Form(max_length=3)] = "all",
    field_: Annotated[list[Cell], Form(alias="field", max_length=MAX_ROWS)] = [],  # noqa: B006
    op: Annotated[list[Cell], Form(max_length=MAX_ROWS)] = [],  # noqa: B006
    value: Annotated[list[Cell], Form(max_length=MAX_ROWS)] = [],  # noqa: B006
    rule: Annotated[Text, Form(max_length=RULE_LENGTH)] = "",
) -> Response:
    """Save the builder's rule as a segment, compute its members, show its page."""
    state = request.app.state
    with use_locale(who.locale):
        builder = Builder(combine=combine, fields=field_, ops=op, values=value, rule=rule)
        builder.key, builder.name, builder.description = key.strip(), name.strip(), description
        try:
            document = builder.document()
            database(request).write(
                lambda s: service.create_segment(
                    s,
                    builder.key,
                    document,
                    name=builder.name or None,
                    description=builder.description,
                )
            )
        except TenureError as exc:
            return _listing(request, who, builder, error=exc.message, status_code=exc.status)
        # The worker would refresh it on its next pass; the operator wants the members now.
        with contextlib.suppress(TenureError):
            runs.refresh_segments(
                state.database, state.warehouse, state.settings.zone, [builder.key], None
            )
        return RedirectResponse(f"/segments/{builder.key}", status_code=303)


def _missing(request: Request, who: Who, key: str) -> HTMLResponse:
    return render.page(
        request, who, "segment.html", status_code=404, key=key, segment=None, error=None
    )


@dataclass(frozen=True)
class SegmentPage:
    segment: Any
    rule: str
    members: list[str]
    snapshots: list[Any]


def _segment_page(session: Session, key: str, offset: int) -> SegmentPage:
    segment = service.get_segment(session, key)
    try:
        rule = json.dumps(json.loads(segment.rule), indent=2, ensure_ascii=False)
    except ValueError:
        rule = segment.rule
    return SegmentPage(
        segment=segment,
        rule=rule,
        members=service.members(session, key, offset, PAGE),
        snapshots=service.snapshots(session, key, 10),
    )


def _known_key(key: str) -> bool:
    return service.KEY.match(key) is not None


@router.get("/segments/{key}", response_class=HTMLResponse)
def segment(
    request: Request,
    key: str,
    who: Annotated[Who, Depends(reader)],
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    """A saved segment: its rule, a page of members, its refreshes; admins refresh or delete."""
    with use_locale(who.locale):
        if not _known_key(key):
            return _missing(request, who, key)
        try:
            page = database(request).read(lambda s: _segment_page(s, key, offset))
        except SegmentNotFound:
            return _missing(request, who, key)
        return render.page(
            request,
            who,
            "segment.html",
            key=key,
            segment=page.segment,
            rule=page.rule,
            members=page.members,
            snapshots=page.snapshots,
            offset=offset,
            page_size=PAGE,
            now=utc_now(),
            error=None,
        )


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if value is None:
        return ""
    try:
        if value != value:  # NaN / NaT
            return ""
    except (TypeError, ValueError):
        pass
    return value


def _csv(columns: list[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


@router.get("/segments/{key}/members.csv")
def export(request: Request, key: str, who: Annotated[Who, Depends(reader)]) -> Response:
    """Every current member with their attributes and features, as CSV."""
    state = request.app.state
    with use_locale(who.locale):
        if not _known_key(key):
            return _missing(request, who, key)
        try:
            frame = runs.export_members(state.database, state.warehouse, state.settings.zone, key)
        except SegmentNotFound:
            return _missing(request, who, key)
        body = _csv(list(frame.columns), frame.itertuples(index=False, name=None))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{key}.csv"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )


@router.post("/segments/{key}/refresh")
def refresh(request: Request, key: str, who: Annotated[Who, Depends(admin)]) -> Response:
    """Recompute the segment's members now."""
    state = request.app.state
    with use_locale(who.locale):
        if not _known_key(key):
            return _missing(request, who, key)
        try:
            runs.refresh_segments(state.database, state.warehouse, state.settings.zone, [key], None)
        except SegmentNotFound:
            return _missing(request, who, key)
        except TenureError as exc:
            return _segment_error(request, who, key, exc)
    return RedirectResponse(f"/segments/{key}", status_code=303)


@router.post("/segments/{key}/delete")
def delete(request: Request, key: str, who: Annotated[Who, Depends(admin)]) -> Response:
    """Delete the segment with its members and snapshots."""
    with use_locale(who.locale):
        if not _known_key(key):
            return _missing(request, who, key)
        try:
            database(request).write(lambda s: service.delete_segment(s, key))
        except SegmentNotFound:
            return _missing(request, who, key)
    return RedirectResponse("/segments", status_code=303)


def _segment_error(request: Request, who: Who, key: str, exc: TenureError) -> HTMLResponse:
    page = database(request).read(lambda s: _segment_page(s, key, 0))
    return render.page(
        request,
        who,
        "segment.html",
        status_code=exc.status,
        key=key,
        segment=page.segment,
        rule=page.rule,
        members=page.members,
        snapshots=page.snapshots,
        offset=0,
        page_size=PAGE,
        now=utc_now(),
        error=exc.message,
    )
