"""Helpers shared by the bench scripts: paths, child processes with rusage, tables, JSON results."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"


def data_dir() -> Path:
    """The shared real datasets (TENURE_DATA_DIR, default ../shared/data from the repo root)."""
    return Path(os.environ.get("TENURE_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


def tenure_exe() -> str:
    """The `tenure` console script of the venv running this bench."""
    candidate = Path(sys.executable).parent / "tenure"
    return str(candidate if candidate.exists() else VENV_BIN / "tenure")


def machine() -> dict[str, Any]:
    """A short description of the machine the figures come from."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def warn_if_busy() -> float:
    """Print a warning when other work is using the CPUs; returns the 1-minute load average."""
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before start; other processes skew the timings")
    return load


@dataclass
class ChildRun:
    """What one child process did: exit code, wall seconds, peak RSS and its JSON output."""

    returncode: int
    wall_s: float
    max_rss_mb: float
    cpu_s: float
    output: dict[str, Any]
    stderr: str


def run_child(
    args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> ChildRun:
    """Run a child and read its own ru_maxrss with wait4; its stdout's last line must be JSON."""
    out_path = RESULTS / f".child-{os.getpid()}-{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    text, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    output = parse_json_output(text)
    return ChildRun(
        returncode=proc.returncode,
        wall_s=wall,
        max_rss_mb=usage.ru_maxrss / 1024,
        cpu_s=usage.ru_utime + usage.ru_stime,
        output=output,
        stderr=stderr[-4000:],
    )


def parse_json_output(text: str) -> dict[str, Any]:
    """The JSON object a child printed: the whole output, else its last line."""
    lines = [line for line in text.splitlines() if line.strip()]
    for candidate in (text, *lines[-1:]):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return {"raw_output": text[-2000:]} if text else {}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A compact fixed-width text table."""
    cells = [[str(h) for h in headers], *[[_fmt(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if n and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return (
            f"{value:,.0f}"
            if abs(value) >= 1000
            else f"{value:.3g}"
            if abs(value) < 10
            else f"{value:.1f}"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write `data`, date and machine to bench/results/NAME-STAMP.json and NAME-latest.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    payload = {"bench": name, "at": now.isoformat(timespec="seconds"), "machine": machine(), **data}
    text = json.dumps(payload, indent=2, default=str) + "\n"
    path = RESULTS / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    return path
