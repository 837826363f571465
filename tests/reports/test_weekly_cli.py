"""`tenure review`: the HTML and PDF files in the language asked for, refused options in one line.

The command is mounted on a Typer app of its own here; `tenure.cli.main` registers it as
`app.command("review")(review.review)`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tenure.cli.review import review
from tenure.config import Settings, get_settings
from tenure.reports.weekly.pdf import PdfRendererMissing, chromium
from tests.conftest import unavailable


@pytest.fixture
def run(review_shop: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TENURE_HOME", str(review_shop.home))
    for name in ("TENURE_WAREHOUSE", "TENURE_DATABASE_URL", "TENURE_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(review)
    app.command("other")(lambda: None)  # two commands: `review` is then named, as in tenure

    def invoke(argv: list[str]) -> Any:
        return CliRunner().invoke(app, ["review", *argv], catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def test_html_and_pdf_in_chinese(run: Any, tmp_path: Path) -> None:
    try:
        chromium()
    except PdfRendererMissing:
        unavailable("chromium is not installed")
    html, pdf = tmp_path / "out" / "review.html", tmp_path / "review.pdf"
    result = run(
        ["--week", "2024-08-21", "--html", str(html), "--pdf", str(pdf), "--locale", "zh-CN"]
    )
    assert result.exit_code == 0, result.output
    page = html.read_text("utf-8")
    assert "每周复盘" in page and "2024年8月19日" in page and "<script" not in page
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "review.pdf" in result.output


def test_the_default_is_the_last_complete_week_as_html(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(["--locale", "en"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "weekly-review-2024-08-19.html"  # the data ends on Tuesday Aug 27
    assert "Weekly review" in written.read_text("utf-8")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--week", "2024-13-01"], "cli_bad_day"),
        (["--locale", "fr"], "cli_invalid_input"),
        (["--send"], "review_smtp_missing"),
    ],
)
def test_refused_options_are_one_line(run: Any, tmp_path: Path, argv: list[str], code: str) -> None:
    result = run([*argv, "--html", str(tmp_path / "x.html")] if "--send" not in argv else argv)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"({code})" in lines[0], result.output
