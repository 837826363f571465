"""The CLI end to end on the hand-made shop: each command as a separate process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.segments.builders import build_shop
from tests.serving import run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    build_shop(path)
    return path


def cli(home: Path, *args: str) -> str:
    done = run_cli(home, *args)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_rfm_and_lifecycle_print_tables_and_save(home: Path) -> None:
    out = cli(home, "rfm", "--compare", "2023-12-31")
    assert "Can't Lose" in out and "Saved 8 score rows" in out and "Segment moves" in out
    out = cli(home, "lifecycle", "--at-risk-days", "60", "--churn-days", "120")
    assert "At risk" in out and "Recorded" in out
    moves = json.loads(
        cli(
            home,
            "segments",
            "transitions",
            "--to",
            "at_risk",
            "--since",
            "2024-01-01",
            "--format",
            "json",
        )
    )
    # At risk after 60 days: u4 on 2023-12-15 + 61, u6 on 2024-01-06 + 61.
    assert sorted((m["user_id"], m["day"]) for m in moves) == [
        ("u4", "2024-02-14"),
        ("u6", "2024-03-07"),
    ]
    cli(home, "rfm", "--no-save", "--format", "csv", "--out", str(home / "rfm.csv"))
    assert pd.read_csv(home / "rfm.csv").users.sum() == 8


def test_segments_and_tags_round_trip(home: Path, tmp_path: Path) -> None:
    cli(home, "rfm")
    cli(home, "tags", "add", "vip", "u2", "u7")
    rule = tmp_path / "rule.yaml"
    rule.write_text("any:\n  - tag: vip\n  - field: rfm.segment\n    op: eq\n    value: Lost\n")
    out = cli(home, "segments", "create", "care", "--rule", f"@{rule}", "--every", "10")
    assert "care: 4 members (+4, -0)" in out
    assert "No segment is due" in cli(home, "segments", "refresh", "--due")
    shown = json.loads(cli(home, "segments", "show", "care", "--format", "json"))
    assert shown["rule"]["any"][0] == {"tag": "vip"}
    assert [(h["members"], h["added"]) for h in shown["snapshots"]] == [(4, 4)]
    listed = json.loads(cli(home, "segments", "list", "--format", "json"))
    assert [(s["key"], s["members"], s["every_minutes"]) for s in listed] == [("care", 4, 10)]
    cli(home, "segments", "export", "care", "--out", str(tmp_path / "care.csv"))
    assert pd.read_csv(tmp_path / "care.csv").user_id.tolist() == ["u2", "u4", "u5", "u7"]
    tags = json.loads(cli(home, "tags", "list", "--format", "json"))
    assert tags == [{"key": "vip", "kind": "manual", "users": 2}]
    profile = cli(home, "profile", "u7")
    assert "care" in profile and "vip" in profile and "Can't Lose" in profile
    cli(home, "segments", "delete", "care")
    bad = run_cli(home, "segments", "refresh", "care")
    assert bad.returncode == 1 and "segment_not_found" in bad.stderr
