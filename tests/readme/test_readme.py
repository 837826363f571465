"""The README's commands run: every fenced shell block, on a fresh home, exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import data_dir, unavailable
from tests.readme.commands import ROOT, blocks, run


def test_the_parser_finds_blocks_and_skip_reasons() -> None:
    text = (
        "intro\n```bash\necho one\n```\n\n<!-- readme: skip: serves forever -->\n"
        "```bash\nmake demo\n```\n```python\nprint(1)\n```\n```sh\necho two\n```\n"
    )
    found = blocks(text)
    assert [(b.body, b.skip) for b in found] == [
        ("echo one\n", None),
        ("make demo\n", "serves forever"),
        ("echo two\n", None),
    ]
    assert found[0].line == 2


def test_a_failing_block_is_reported(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("```bash\ntrue\n```\n```bash\ntenure import orders missing.csv\n```\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    outcomes = run(readme, shared, tmp_path / "run")
    assert (outcomes[0].returncode, outcomes[1].returncode) == (0, 1)
    assert "Traceback" not in outcomes[1].output


def test_every_readme_block_is_run_or_says_why_not() -> None:
    for block in blocks((ROOT / "README.md").read_text("utf-8")):
        assert block.skip is None or len(block.skip) > 10, block


@pytest.mark.slow
def test_every_readme_command_block_exits_0(tmp_path: Path) -> None:
    if not (data_dir() / "cdnow_master.csv").exists():
        unavailable(f"real datasets not found at {data_dir()}")
    outcomes = run(ROOT / "README.md", data_dir().parent, tmp_path)
    failed = [
        f"README.md:{o.block.line + 1} exited {o.returncode}:\n{o.output[-3000:]}"
        for o in outcomes
        if o.returncode
    ]
    assert not failed, "\n\n".join(failed)
    assert len(outcomes) >= 5  # the walkthrough is there
