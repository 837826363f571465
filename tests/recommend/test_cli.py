"""`tenure recommend …` end to end, each command a separate process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.recommend.builders import EXCLUDE, build_shop
from tests.serving import run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    build_shop(path)
    return path


def cli(home: Path, *args: str) -> str:
    done = run_cli(home, *args, TENURE_RECOMMEND_EXCLUDE_SKUS=EXCLUDE)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def fails(home: Path, *args: str) -> str:
    done = run_cli(home, *args, TENURE_RECOMMEND_EXCLUDE_SKUS=EXCLUDE)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    return done.stderr


def test_before_training_the_lists_say_how_to_train(home: Path) -> None:
    assert "tenure recommend train" in fails(home, "recommend", "for", "u1")


def test_train_then_read_the_lists(home: Path) -> None:
    trained = json.loads(cli(home, "recommend", "train", "--format", "json"))
    assert trained["users"] == 7 and trained["version"]  # u6 returned everything
    assert "POST" not in cli(home, "recommend", "for", "u1", "--n", "20")
    listed = json.loads(cli(home, "recommend", "for", "u5", "--context", "T1", "--format", "json"))
    assert listed["items"][0]["sku"] == "C1" and listed["model_version"] == trained["version"]
    assert "cold-start" in cli(home, "recommend", "for", "new-person")
    together = cli(home, "recommend", "together", "T1")
    assert "C1" in together and "80.0%" in together
    assert "recommend_unknown_item" in fails(home, "recommend", "together", "NOPE")


def test_evaluate_scores_every_model_and_explains_an_empty_window(home: Path) -> None:
    result = json.loads(cli(home, "recommend", "evaluate", "--days", "14", "--format", "json"))
    assert result["cutoff"] == "2024-03-06"
    assert {m["model"] for m in result["models"]} >= {"popular", "als", "served"}
    assert "recommend_no_test_purchases" in fails(home, "recommend", "evaluate", "--days", "10")


def test_evaluate_sessions_reads_otto_files_and_refuses_bad_ones(home: Path) -> None:
    good = home / "sessions.csv"
    rows = ["session,aid,ts,type"]
    for s in range(6):
        for n, (aid, kind) in enumerate(
            [(1, "clicks"), (2, "clicks"), (2, "carts"), (3, "orders")]
        ):
            rows.append(f"{s},{aid + s % 2},{1659304800000 + 60000 * n},{kind}")
    good.write_text("\n".join(rows) + "\n")
    out = cli(home, "recommend", "evaluate", "--sessions", str(good), "--seeds", "2")
    assert "covisit" in out and "popular" in out
    bad = home / "bad.csv"
    bad.write_text("session,aid\n1,2\n")
    assert "recommend_bad_sessions" in fails(home, "recommend", "evaluate", "--sessions", str(bad))
