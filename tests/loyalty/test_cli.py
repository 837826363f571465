"""`tenure loyalty …` as an operator runs it, in separate processes on one TENURE_HOME."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.serving import run_cli

PROGRAM = """
currency = "EUR"
earn_points_per_unit = 2
return_window_days = 7
expiry_days = 365

[actions]

[[tiers]]
code = "member"
name = "Member"
threshold = 0

[[tiers]]
code = "vip"
name = "VIP"
threshold = 100000
multiplier_bps = 20000
"""


class TestLoyaltyCli:
    def test_an_operator_configures_the_program_and_follows_an_order_through(
        self, home: Path, tmp_path: Path
    ) -> None:
        path = tmp_path / "program.toml"
        path.write_text(PROGRAM, "utf-8")
        saved = run_cli(home, "loyalty", "program", "set", str(path), "--note", "launch")
        assert saved.returncode == 0, saved.stderr
        shown = json.loads(run_cli(home, "loyalty", "program", "show").stdout)
        assert (shown["version"], shown["config"]["currency"]) == (1, "EUR")

        paid = run_cli(home, "loyalty", "order-paid", "o1", "ann", "150000", "--json")
        assert paid.returncode == 0, paid.stderr
        # 1,500.00 EUR × 2 points; VIP (×2) is reached by this very order, so it earns at ×1.
        assert json.loads(paid.stdout)["points"] == 3_000
        assert json.loads(paid.stdout)["pending"] is True
        week_later = (datetime.now(UTC) + timedelta(days=7, minutes=5)).isoformat()
        due = run_cli(home, "loyalty", "run-due", "--at", week_later)
        assert "Confirmed 1 lot(s)" in due.stdout, due.stdout + due.stderr
        account = json.loads(run_cli(home, "loyalty", "account", "ann", "--json").stdout)
        assert (account["balances"]["available"], account["tier"]) == (3_000, "vip")

        refused = run_cli(home, "loyalty", "spend", "ann", "5000", "--key", "k1")
        assert refused.returncode == 1
        assert "points_insufficient" in refused.stderr
        spent = run_cli(home, "loyalty", "spend", "ann", "1000", "--key", "k2", "--json")
        assert json.loads(spent.stdout)["balance"] == 2_000
        owed = json.loads(run_cli(home, "loyalty", "liability", "--json").stdout)
        assert (owed["outstanding"], owed["currency"]) == (2_000, "EUR")

    def test_an_invalid_program_file_names_the_bad_field(self, home: Path, tmp_path: Path) -> None:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"min_redeem_points": 0}), "utf-8")
        result = run_cli(home, "loyalty", "program", "set", str(path))
        assert result.returncode == 1
        assert "loyalty_program_invalid" in result.stderr and "min_redeem_points" in result.stderr


def test_setting_the_shown_program_again_saves_no_new_version(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM, "utf-8")
    assert run_cli(home, "loyalty", "program", "set", str(path)).returncode == 0
    shown = tmp_path / "shown.json"
    shown.write_text(run_cli(home, "loyalty", "program", "show").stdout, "utf-8")
    again = run_cli(home, "loyalty", "program", "set", str(shown))
    assert again.returncode == 0 and "unchanged" in again.stdout and "version 1" in again.stdout
    again = run_cli(home, "loyalty", "program", "set", str(path))  # the same program as TOML
    assert "unchanged" in again.stdout
    assert json.loads(run_cli(home, "loyalty", "program", "show").stdout)["version"] == 1
    changed = json.loads(shown.read_text("utf-8"))
    changed["config"]["expiry_days"] = 400
    shown.write_text(json.dumps(changed), "utf-8")
    saved = run_cli(home, "loyalty", "program", "set", str(shown))
    assert "Saved loyalty program version 2" in saved.stdout, saved.stdout + saved.stderr
