"""`tenure rfm`, `tenure lifecycle`, `tenure segments …` and `tenure tags …`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.analytics.features import data_end
from tenure.cli.context import console, day_option, emit_json, friendly, services
from tenure.cli.files import read_json_or_yaml, unreadable
from tenure.cli.output import FORMAT_HELP, OUT_HELP, Blocks, Grid, emit, output_format, write_frame
from tenure.i18n import translate
from tenure.segments import runs, service, tags
from tenure.segments.lifecycle import LifecycleQuery
from tenure.segments.rfm import RfmQuery, RfmResult, RfmRule
from tenure.segments.rules import load

app = typer.Typer(help="Saved segments: preview, save, refresh, export.", no_args_is_help=True)
tags_app = typer.Typer(help="Manual and rule-based tags.", no_args_is_help=True)


def _day(text: str | None) -> date | None:
    return day_option(text, "--as-of / --compare / --since")


def _rule_text(rule: str) -> Any:
    """A rule given inline (JSON/YAML), or as @FILE or the name of a .json/.yaml file."""
    if rule.startswith("@"):
        return read_json_or_yaml(Path(rule[1:]))
    if _names_a_file(rule):
        return read_json_or_yaml(Path(rule))
    return load(rule)


def _names_a_file(rule: str) -> bool:
    """`rules/vip.yaml` names a file; `{"tag": "vip"}` and `tag: a.json` are rules."""
    inline = any(mark in rule for mark in "{}[]:\n")
    return not inline and Path(rule).suffix.lower() in (".json", ".yaml", ".yml")


def _rfm_rules(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = read_json_or_yaml(path)
    items = data.get("segments", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise unreadable(path, "not_valid", where="segments", problem="expected a list of rules")
    rules = []
    for i, item in enumerate(items):
        try:
            rules.append(RfmRule.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("segments", i, *first.get("loc", ())))
            raise unreadable(path, "not_valid", where=where, problem=first.get("msg")) from None
    return {"segments": tuple(rules)}


def _rfm_frame(result: RfmResult) -> pd.DataFrame:
    return pd.DataFrame([row.model_dump() for row in result.segments])


def _rfm_table(result: RfmResult) -> Table:
    table = Table(title=f"RFM as of {result.as_of} ({result.customers:,} customers)")
    # "recency days", not recency_days: a header may wrap at a space on a narrow terminal.
    for col in ("segment", "users", "share", "recency days", "frequency", "monetary", "revenue"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    for row in result.segments:
        table.add_row(
            row.segment,
            f"{row.users:,}",
            f"{row.share:.1%}",
            f"{row.recency_days:.1f}",
            f"{row.frequency:.2f}",
            f"{row.monetary:,.2f}",
            f"{row.revenue:,.2f}",
        )
    return table


def _transition_table(result: RfmResult) -> Blocks:
    """Users by segment before (rows) and after (columns); on a narrow terminal the columns go
    over several tables."""
    names = sorted({t.target for t in result.transitions} | {t.source for t in result.transitions})
    targets = sorted({t.target for t in result.transitions})
    title = f"Segment moves {result.compare_to} → {result.as_of} (rows: before)"
    grid = Grid(title, ["from \\ to"], targets)
    cells = {(t.source, t.target): t.users for t in result.transitions}
    for source in names:
        if any((source, t) in cells for t in targets):
            grid.add([source], [str(cells.get((source, t), "")) for t in targets])
    return Blocks(grid)


@friendly
def rfm(
    as_of: str | None = typer.Option(None, "--as-of", help="Day (default: last day with orders)."),
    compare: str | None = typer.Option(None, "--compare", help="Earlier day: transition matrix."),
    bins: int = typer.Option(5, help="Score bins (5: quintiles)."),
    segments: Path | None = typer.Option(
        None, "--segments", readable=False, help="JSON/YAML segment rules."
    ),
    save: bool = typer.Option(True, "--save/--no-save", help="Store scores (model rfm)."),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """RFM quintile scores and named segments; stores every customer's scores."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = RfmQuery.model_validate(
        {"as_of": _day(as_of), "compare_to": _day(compare), "bins": bins, **_rfm_rules(segments)}
    )
    svc = services()
    result, written = runs.run_rfm(svc.warehouse, svc.settings.zone, query, save)

    moves = [_transition_table(result)] if result.transitions else []
    fmt = emit(
        fmt,
        out,
        as_json=lambda: {**result.model_dump(mode="json"), "scored": written},
        as_frame=lambda: _rfm_frame(result),
        as_table=lambda: [_rfm_table(result), *moves],
    )
    if written and fmt == "table":
        version = str(result.as_of)
        console.print(translate("cli.scores.saved", rows=written, model="rfm", version=version))


@friendly
def lifecycle(
    as_of: str | None = typer.Option(None, "--as-of", help="Day (default: last day with orders)."),
    mode: str = typer.Option("fixed", help="fixed (days) or model (BG/NBD per user)."),
    new_days: int = typer.Option(30, "--new-days"),
    at_risk_days: int = typer.Option(90, "--at-risk-days"),
    churn_days: int = typer.Option(180, "--churn-days"),
    loyal_orders: int = typer.Option(3, "--loyal-orders"),
    save: bool = typer.Option(True, "--save/--no-save", help="Store stages and transitions."),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Lifecycle stage per customer; records each stage change with its day."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    query = LifecycleQuery.model_validate(
        {
            "as_of": _day(as_of),
            "mode": mode,
            "new_days": new_days,
            "at_risk_days": at_risk_days,
            "churn_days": churn_days,
            "loyal_orders": loyal_orders,
        }
    )
    svc = services()
    run = runs.run_lifecycle(svc.warehouse, svc.database, svc.settings.zone, query, save)
    result = run.result

    def table() -> Table:
        t = Table(title=f"Lifecycle as of {result.as_of} ({result.customers:,} customers)")
        t.add_column("stage")
        t.add_column("users", justify="right")
        t.add_column("share", justify="right")
        for s in result.stages:
            t.add_row(translate(f"lifecycle.stage.{s.stage}"), f"{s.users:,}", f"{s.share:.1%}")
        return t

    fmt = emit(
        fmt,
        out,
        as_json=lambda: {
            **result.model_dump(mode="json"),
            "scored": run.scored,
            "transitions": run.transitions,
        },
        as_frame=lambda: pd.DataFrame([s.model_dump() for s in result.stages]),
        as_table=table,
    )
    if save and fmt == "table":
        console.print(translate("cli.lifecycle.recorded", transitions=run.transitions))


@app.command("preview")
@friendly
def preview(
    rule: str = typer.Argument(..., help="Rule as JSON/YAML text, or @FILE."),
    as_of: str | None = typer.Option(None, "--as-of"),
    sample: int = typer.Option(10, help="Ids to show."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Count the users a rule matches, without saving it."""
    tree = _rule_text(rule)
    svc = services()
    zone = svc.settings.zone
    with svc.warehouse.reader() as con:
        end = _day(as_of) or data_end(con, zone) or date.today()
        count, ids = svc.database.read(lambda s: service.preview(s, con, tree, zone, end, sample))
    if fmt == "json":
        emit_json({"count": count, "sample": ids, "as_of": str(end)})
        return
    console.print(translate("cli.segments.preview", count=f"{count:,}", as_of=end))
    for user_id in ids:
        console.print(f"  {user_id}")


@app.command("create")
@friendly
def create(
    key: str = typer.Argument(..., help="Lower-case slug."),
    rule: str = typer.Option(..., "--rule", help="Rule as JSON/YAML text, or @FILE."),
    name: str | None = typer.Option(None, "--name"),
    description: str = typer.Option("", "--description"),
    every: int = typer.Option(60, "--every", help="Refresh interval in minutes."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Compute members now."),
) -> None:
    """Save a segment (and compute its members)."""
    tree = _rule_text(rule)
    svc = services()
    svc.database.write(
        lambda s: service.create_segment(
            s, key, tree, name=name, description=description, refresh_minutes=every
        )
    )
    console.print(translate("cli.segments.saved", segment=key, minutes=every))
    if refresh:
        _print_refreshes(
            runs.refresh_segments(svc.database, svc.warehouse, svc.settings.zone, [key], None)
        )


def _print_refreshes(done: list[service.Refresh]) -> None:
    for r in done:
        console.print(
            translate("cli.segments.refreshed", segment=r.key, members=f"{r.members:,}",
                      added=r.added, removed=r.removed)
        )  # fmt: skip


@app.command("list")
@friendly
def list_segments(fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Saved segments with their size and schedule."""
    svc = services()
    rows = svc.database.read(
        lambda session: [
            {
                "key": s.key,
                "name": s.name,
                "members": s.member_count,
                "every_minutes": s.refresh_minutes,
                "refreshed_at": s.refreshed_at,
                "next_refresh_at": s.next_refresh_at,
                "rule": json.loads(s.rule),
            }
            for s in service.list_segments(session)
        ]
    )
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("key", "name", "members", "every (min)", "refreshed", "next")
    for r in rows:
        refreshed = str(r["refreshed_at"] or "–")[:19]
        table.add_row(
            str(r["key"]), str(r["name"]), f"{r['members']:,}", str(r["every_minutes"]),
            refreshed, str(r["next_refresh_at"])[:19],
        )  # fmt: skip
    console.print(table)


@app.command("show")
@friendly
def show(
    key: str = typer.Argument(...),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """A saved segment: its rule, schedule and the history of its refreshes."""
    svc = services()

    def work(session: Session) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        segment = service.get_segment(session, key)
        history = [
            {"id": s.id, "taken_at": s.taken_at, "members": s.members, "added": s.added,
             "removed": s.removed}
            for s in service.snapshots(session, key)
        ]  # fmt: skip
        data = {
            "key": segment.key,
            "name": segment.name,
            "rule": json.loads(segment.rule),
            "members": segment.member_count,
            "every_minutes": segment.refresh_minutes,
            "next_refresh_at": segment.next_refresh_at,
            "snapshots": history,
        }
        return data, history

    data, history = svc.database.read(work)
    if fmt == "json":
        emit_json(data)
        return
    console.print(f"[bold]{data['name']}[/] ({key}): {data['members']:,} members")
    console.print(json.dumps(data["rule"], indent=2))
    table = Table("snapshot", "taken at", "members", "joined", "left")
    for h in history:
        table.add_row(str(h["id"]), str(h["taken_at"])[:19], f"{h['members']:,}",
                      f"+{h['added']:,}", f"-{h['removed']:,}")  # fmt: skip
    console.print(table)


@app.command("transitions")
@friendly
def transitions(
    to_stage: str | None = typer.Option(None, "--to", help="Target stage, e.g. at_risk."),
    since: str | None = typer.Option(None, "--since", help="Entered on or after this day."),
    user_id: str | None = typer.Option(None, "--user"),
    limit: int = typer.Option(1000, help="Rows at most."),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Recorded lifecycle stage changes, e.g. who entered at_risk since a day."""
    fmt = output_format(fmt, out)  # a bad --format/--out fails before the work
    svc = services()

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "user_id": t.user_id, "from": t.from_stage, "to": t.to_stage,
             "day": t.day}
            for t in service.transitions(session, to_stage, _day(since), user_id, limit)
        ]  # fmt: skip

    rows = svc.database.read(work)

    def table() -> Table:
        t = Table("user", "from", "to", "day")
        for r in rows:
            t.add_row(str(r["user_id"]), str(r["from"] or "–"), str(r["to"]), str(r["day"]))
        return t

    emit(fmt, out, as_json=lambda: rows, as_frame=lambda: pd.DataFrame(rows), as_table=table)


@app.command("refresh")
@friendly
def refresh(
    keys: list[str] = typer.Argument(None, help="Segments to refresh (default: all)."),
    due: bool = typer.Option(False, "--due", help="Only segments whose interval has passed."),
    as_of: str | None = typer.Option(None, "--as-of"),
) -> None:
    """Recompute members and store a snapshot; with --due, what the schedule says is due."""
    svc = services()
    if due:
        chosen = None
    else:
        chosen = (
            list(keys)
            if keys
            else svc.database.read(lambda s: [g.key for g in service.list_segments(s)])
        )
    done = runs.refresh_segments(
        svc.database, svc.warehouse, svc.settings.zone, chosen, _day(as_of)
    )
    if not done and due:
        console.print(translate("cli.segments.none_due"))
    _print_refreshes(done)


@app.command("export")
@friendly
def export(
    key: str = typer.Argument(...),
    out: Path = typer.Option(
        ..., "--out", help="File to write: CSV, or JSON / Parquet for a .json / .parquet name."
    ),
) -> None:
    """Write a segment's members with their attributes and features (CSV unless named else)."""
    fmt = output_format(None, out, ("csv", "json", "parquet"), fallback="csv")
    svc = services()
    frame = runs.export_members(svc.database, svc.warehouse, svc.settings.zone, key)
    write_frame(frame, fmt, out)
    console.print(translate("cli.segments.exported", rows=len(frame), path=out))


@app.command("delete")
@friendly
def delete(key: str = typer.Argument(...)) -> None:
    """Delete a saved segment with its members and snapshots."""
    svc = services()
    svc.database.write(lambda s: service.delete_segment(s, key))
    console.print(translate("cli.segments.deleted", segment=key))


@tags_app.command("add")
@friendly
def tag_add(key: str = typer.Argument(...), user_ids: list[str] = typer.Argument(...)) -> None:
    """Put a manual tag on users (the tag is created on first use)."""
    svc = services()
    added = svc.database.write(lambda s: tags.tag_users(s, key, list(user_ids)))
    console.print(translate("cli.tags.added", added=added, tag=key))


@tags_app.command("remove")
@friendly
def tag_remove(key: str = typer.Argument(...), user_ids: list[str] = typer.Argument(...)) -> None:
    """Take a manual tag off users."""
    svc = services()
    svc.database.write(lambda s: tags.untag_users(s, key, list(user_ids)))
    console.print(translate("cli.tags.removed", tag=key, count=len(user_ids)))


@tags_app.command("create")
@friendly
def tag_create(
    key: str = typer.Argument(...),
    rule: str | None = typer.Option(None, "--rule", help="Rule (JSON/YAML or @FILE): rule-based."),
) -> None:
    """Create a manual tag, or a rule-based one that `tenure tags refresh` re-evaluates."""
    svc = services()
    svc.database.write(lambda s: tags.create_tag(s, key, _rule_text(rule) if rule else None))
    console.print(translate("cli.tags.created", tag=key))


@tags_app.command("refresh")
@friendly
def tag_refresh(as_of: str | None = typer.Option(None, "--as-of")) -> None:
    """Re-evaluate every rule-based tag."""
    svc = services()
    _print_refreshes(runs.refresh_tags(svc.database, svc.warehouse, svc.settings.zone, _day(as_of)))


@tags_app.command("list")
@friendly
def tag_list(fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Tags and how many users carry each."""
    svc = services()
    rows = svc.database.read(
        lambda session: [
            {"key": t.key, "kind": "manual" if t.rule is None else "rule", "users": n}
            for t, n in tags.list_tags(session)
        ]
    )
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("key", "kind", "users")
    for r in rows:
        table.add_row(str(r["key"]), str(r["kind"]), f"{r['users']:,}")
    console.print(table)
