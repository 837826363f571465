"""The deployment examples in docs/deploy parse, and the commands they run exist.

No registry is reachable in CI, so the image is never built here: these checks catch a renamed
command or option, a shell-form CMD, a root user, or a unit that would not stop cleanly.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from tenure.cli.main import app
from tenure.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"


def _check_tenure_command(argv: list[str]) -> str:
    """`argv` runs an existing `tenure` command with options it has; returns the command."""
    assert Path(argv[0]).name == "tenure", argv
    group = typer.main.get_command(app)
    command = getattr(group, "commands", {}).get(argv[1])
    assert command is not None, f"no command `tenure {argv[1]}`"
    options = {opt for param in command.params for opt in param.opts}
    for arg in argv[2:]:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"`tenure {argv[1]}` has no option {arg}"
    return argv[1]


def _check_settings(names: list[str]) -> None:
    for name in names:
        if name.startswith("TENURE_"):
            field = name.removeprefix("TENURE_").lower()
            assert field in Settings.model_fields, f"{name} is not a setting"


def _unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text())
    return parser["Service"]


@pytest.mark.parametrize(
    ("unit", "command"), [("tenure-serve.service", "serve"), ("tenure-worker.service", "worker")]
)
def test_the_systemd_units_run_tenure_and_stop_cleanly(unit: str, command: str) -> None:
    service = _unit(unit)
    assert _check_tenure_command(shlex.split(service["ExecStart"])) == command
    assert service["KillMode"] in ("mixed", "control-group")
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 10  # Tenure stops within 10 s
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    assert service["EnvironmentFile"].endswith("tenure.env")


def test_the_environment_file_names_only_settings() -> None:
    lines = (DEPLOY / "tenure.env").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert {"TENURE_HOME", "TENURE_DATABASE_URL"} <= set(names)
    _check_settings(names)


def test_the_dockerfile_is_slim_non_root_and_signalled_directly() -> None:
    # Continued lines joined; each instruction is then one line.
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.setdefault(keyword.upper(), []).append(rest.strip())
    assert instructions["FROM"] == ["python:3.11-slim"]
    assert any("pip install '.[postgres]'" in run for run in instructions["RUN"])
    assert instructions["USER"][-1] not in ("root", "0")
    assert instructions["STOPSIGNAL"] == ["SIGTERM"]
    cmd = json.loads(instructions["CMD"][-1])  # exec form: a JSON array, no shell
    assert _check_tenure_command(cmd) == "serve"
    _check_settings([env.split("=")[0] for env in instructions["ENV"]])


def test_compose_runs_postgres_serve_and_worker_with_a_health_check() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "serve", "worker"}
    serve, worker = services["serve"], services["worker"]
    assert _check_tenure_command(serve["command"]) == "serve"
    assert _check_tenure_command(worker["command"]) == "worker"
    assert "/healthz" in " ".join(serve["healthcheck"]["test"])
    assert worker["depends_on"]["serve"]["condition"] == "service_healthy"
    assert serve["depends_on"]["postgres"]["condition"] == "service_healthy"
    for tenure in (serve, worker):
        home = tenure["environment"]["TENURE_HOME"]
        volume, _, mounted = tenure["volumes"][0].partition(":")
        assert mounted == home and volume in compose["volumes"]
        assert tenure["environment"]["TENURE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert tenure["init"] is True and tenure["stop_signal"] == "SIGTERM"
        assert tenure["build"]["dockerfile"] == "docs/deploy/Dockerfile"
        _check_settings(list(tenure["environment"]))
