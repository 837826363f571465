"""Mistakes in the set-up end in one line naming the problem and a non-zero exit, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tenure.ingest.files.errors import MappingFileNotSaved, MappingFileUnreadable
from tenure.ingest.files.mapping import Mapping, load_mapping_file, save_mapping_file
from tests.ingest.builders import write
from tests.serving import run_cli, tenure_env


def _one_error_line(result: subprocess.CompletedProcess[str], code: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"({code})" in lines[0], result.stderr
    return lines[0]


def test_a_mapping_file_that_is_not_json_is_one_line(home: Path, tmp_path: Path) -> None:
    orders = write(tmp_path / "o.csv", "order_id,user_id,ts,amount\nA,u,2024-01-01,3")
    result = run_cli(home, "import", "orders", str(orders), "--mapping", "/etc/passwd")
    line = _one_error_line(result, "import_mapping_unreadable")
    assert "/etc/passwd" in line and "not JSON" in line


def test_an_unwritable_save_mapping_is_one_line(home: Path, tmp_path: Path) -> None:
    orders = write(tmp_path / "o.csv", "order_id,user_id,ts,amount\nA,u,2024-01-01,3")
    result = run_cli(home, "import", "orders", str(orders), "--save-mapping", "/proc/version")
    assert "/proc/version" in _one_error_line(result, "import_mapping_not_saved")


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("missing.json", None, "No such file"),
        ("list.json", "[1, 2]", "must hold an object"),
        ("columns.json", '{"columns": ["a"]}', "`columns`"),
        ("drop.json", '{"drop": "a"}', "`drop`"),
        ("zone.json", '{"timezone": 3}', "`timezone`"),
        ("broken.toml", "columns = ", "not TOML"),
        ("binary.json", b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_each_bad_mapping_file_names_its_problem(
    tmp_path: Path, name: str, text: str | bytes | None, says: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(MappingFileUnreadable) as caught:
        load_mapping_file(path)
    assert says in caught.value.message and str(path) in caught.value.message


def test_a_saved_mapping_reads_back_and_a_folder_is_not_a_file(tmp_path: Path) -> None:
    mapping = Mapping(columns={"Kunde": "user_id"}, timezone="Europe/Berlin", drop=("x",))
    save_mapping_file(tmp_path / "m.json", mapping)
    assert load_mapping_file(tmp_path / "m.json") == mapping
    with pytest.raises(MappingFileNotSaved):
        save_mapping_file(tmp_path, mapping)


def test_postgresql_without_the_extra_names_the_extra(home: Path) -> None:
    # The driver hidden as if `pip install tenure` had been run without `[postgres]`.
    code = "import sys; sys.modules['psycopg'] = None; from tenure.cli.main import app; app()"
    env = tenure_env(home, TENURE_DATABASE_URL="postgresql+psycopg://u@127.0.0.1:1/db")
    for command in (["status"], ["keys", "list"], ["worker", "--once"]):
        result = subprocess.run(
            [sys.executable, "-c", code, *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        line = _one_error_line(result, "postgres_driver_missing")
        assert "pip install 'tenure[postgres]'" in line
