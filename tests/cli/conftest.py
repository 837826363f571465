"""Running the CLI in this process on an empty home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run `tenure ARGS` in this process on an empty home; exceptions are not caught, so a
    traceback fails the test."""
    monkeypatch.setenv("TENURE_HOME", str(home))
    for name in ("TENURE_WAREHOUSE", "TENURE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()

    def run(argv: list[str]) -> Any:
        return CliRunner().invoke(app, argv, catch_exceptions=False)

    yield run
    get_settings.cache_clear()
