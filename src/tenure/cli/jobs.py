"""`tenure jobs list|run|set` and `tenure worker`: the database-backed job schedule."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any

import typer
from rich.table import Table

from tenure.cli.context import Services, console, emit_json, err_console, friendly, services
from tenure.i18n import translate
from tenure.jobs import service
from tenure.jobs.catalog import default_registry
from tenure.jobs.registry import JobContext
from tenure.jobs.worker import LEASE_SECONDS, Interrupted, RunResult, Worker

app = typer.Typer(help="Scheduled jobs: list them, run one now, change a schedule.")
# After SIGTERM or Ctrl-C, `tenure worker` exits at the latest this many seconds later.
HARD_STOP_SECONDS = 8.0


def _worker(svc: Services, lease: float = LEASE_SECONDS) -> Worker:
    ctx = JobContext(svc.settings, svc.database, svc.warehouse)
    return Worker(ctx, default_registry(), lease_seconds=lease)


def _print_run(result: RunResult) -> None:
    line = translate("cli.jobs.ran", name=result.name, status=result.status, seconds=result.seconds)
    (console if result.status == "ok" else err_console).print(line)


@app.command("list")
@friendly
def list_jobs(fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Every registered job: interval, next run, who runs it now, last outcome."""
    svc = services()
    worker = _worker(svc)
    worker.sync()
    rows = svc.database.read(service.schedule)
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("job", "every", "enabled", "next run", "running on", "last status", "runs")
    for row in rows:
        table.add_row(
            row["name"],
            f"{row['interval_seconds']:,} s",
            "yes" if row["enabled"] else "no",
            str(row["next_run_at"])[:19],
            row["running_on"] or "",
            row["last_status"] or "",
            str(row["runs"]),
        )
    console.print(table)


@app.command("run")
@friendly
def run(
    name: str = typer.Argument(..., help="The job's name, e.g. predict.churn.train."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Run one job now in this process (refused while another worker runs it)."""
    svc = services()
    worker = _worker(svc)
    worker.sync()
    result = worker.run_named(name)
    if fmt == "json":
        emit_json(result.__dict__)
    else:
        _print_run(result)
    if result.status != "ok":
        raise typer.Exit(1)


@app.command("set")
@friendly
def set_job(
    name: str = typer.Argument(..., help="The job's name."),
    every: int | None = typer.Option(None, "--every", help="Interval in seconds."),
    enable: bool | None = typer.Option(None, "--enable/--disable", help="Switch it on or off."),
) -> None:
    """Change a job's interval or switch it on or off."""
    svc = services()
    worker = _worker(svc)
    worker.sync()
    job = svc.database.write(
        lambda s: service.set_schedule(
            s, worker.registry, name, interval_seconds=every, enabled=enable
        )
    )
    console.print(f"{job.name}: every {job.interval_seconds:,} s, enabled={job.enabled}")


@friendly
def worker(
    poll: float = typer.Option(30.0, "--poll", help="Seconds between looks at the schedule."),
    once: bool = typer.Option(False, "--once", help="Run what is due, then exit."),
    lease: float = typer.Option(LEASE_SECONDS, "--lease", help="Lease seconds (renewed)."),
    campaigns: bool = typer.Option(
        True, "--campaigns/--no-campaigns", help="Also run the campaign engine (sends)."
    ),
    dispatch_every: float = typer.Option(
        1.0, "--dispatch-every", help="Seconds between idle campaign passes."
    ),
) -> None:
    """Run due jobs from the database schedule; start as many workers as you like."""
    svc = services()
    runner = _worker(svc, lease)
    if once:
        runner.sync()
        results = runner.run_due()
        for result in results:
            _print_run(result)
        if any(r.status != "ok" for r in results):
            raise typer.Exit(1)
        return
    stop = StopOnSignal(runner)
    stop.install()
    console.print(translate("cli.worker.started", worker=runner.name, seconds=poll))
    engine = _campaign_thread(svc, runner.name, stop.event, dispatch_every) if campaigns else None
    with contextlib.suppress(Interrupted):  # a job was running; it was handed back
        runner.loop(poll, stop.event)
    if engine is not None:
        engine.join(HARD_STOP_SECONDS / 2)  # a send in flight finishes; its lease covers the rest
    err_console.print(translate("cli.worker.stopped", worker=runner.name))


def _campaign_thread(
    svc: Services, name: str, stop: threading.Event, every: float
) -> threading.Thread:
    """The campaign engine beside the job loop: its own thread, the same stop event."""
    from tenure.campaigns.dispatch import loop
    from tenure.campaigns.engine import dispatcher

    engine = dispatcher(svc.settings, svc.database, svc.warehouse, name)
    thread = threading.Thread(
        target=loop, args=(engine, stop, every), name="campaigns", daemon=True
    )
    thread.start()
    return thread


class StopOnSignal:
    """SIGTERM and SIGINT stop `tenure worker`: no new job is claimed, a running job (it runs in
    the main thread, where the handler runs) is unwound and handed back due at once, and after
    `hard_stop` seconds the process leaves whatever it is doing."""

    def __init__(self, runner: Worker, hard_stop: float = HARD_STOP_SECONDS) -> None:
        self.runner = runner
        self.hard_stop = hard_stop
        self.event = threading.Event()
        self.deadline: threading.Timer | None = None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT (call from the main thread)."""
        signal.signal(signal.SIGTERM, self)
        signal.signal(signal.SIGINT, self)

    def __call__(self, signum: int, _frame: Any) -> None:
        if self.event.is_set():
            return
        self.event.set()
        self.deadline = threading.Timer(
            self.hard_stop, _exit_now, (self.runner.name, self.hard_stop)
        )
        self.deadline.daemon = True
        self.deadline.start()
        if self.runner.busy:
            raise Interrupted(signal.Signals(signum).name)


def _exit_now(worker: str, seconds: float) -> None:
    """The job did not unwind in time (a long call into a native library): leave now; its lease
    runs out and another worker takes it."""
    err_console.print(translate("cli.worker.killed", worker=worker, seconds=seconds))
    os._exit(1)
