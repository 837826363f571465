"""`tenure referrals …` as separate processes, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serving import run_cli


def _ok(home: Path, *args: str) -> str:
    result = run_cli(home, "referrals", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_an_operator_walks_a_referral_from_code_to_reward(home: Path, tmp_path: Path) -> None:
    program = tmp_path / "referrals.toml"
    program.write_text("return_window_days = 0\n[referrer]\npoints = 300\n", encoding="utf-8")
    assert "version 1" in _ok(home, "config", "set", str(program))
    code = json.loads(_ok(home, "code", "alice", "--json"))["referral_code"]
    referral = json.loads(_ok(home, "attribute", "bob", code, "--json"))
    assert (referral["referrer_id"], referral["status"]) == ("alice", "pending")
    paid = json.loads(
        _ok(home, "order", "o1", "bob", "2500", "--paid-at", "2026-01-01T00:00:00Z", "--json")
    )
    assert paid["reason"] == "qualifying"
    due = json.loads(_ok(home, "run-due", "--json"))
    assert (due["rewarded"], due["held"]) == (1, 0)
    shown = json.loads(_ok(home, "show", referral["id"], "--json"))
    assert sorted((r["side"], r["points"]) for r in shown["rewards"]) == [
        ("invitee", 200),
        ("referrer", 300),
    ]
    refunded = json.loads(_ok(home, "refund", "o1", "--cancelled", "--json"))
    assert refunded["status"] == "reversed"
    shown = json.loads(_ok(home, "show", referral["id"], "--json"))
    assert sorted(
        (r["side"], r["status"], r["reason"], r["points_reversed"]) for r in shown["rewards"]
    ) == [
        ("invitee", "reversed", "order_cancelled", 200),
        ("referrer", "reversed", "order_cancelled", 300),
    ]
    assert "300 points taken back" in _ok(home, "show", referral["id"])


def test_a_self_referral_exits_1_with_the_reason(home: Path) -> None:
    code = json.loads(_ok(home, "code", "alice", "--json"))["referral_code"]
    result = run_cli(home, "referrals", "attribute", "alice", code)
    assert result.returncode == 1
    assert "referral_self_referral" in result.stderr
    decisions = json.loads(_ok(home, "decisions", "--json"))
    assert [(d["rule"], d["action"]) for d in decisions] == [("self_referral", "reject")]


def test_groups_open_join_and_list(home: Path) -> None:
    group = json.loads(_ok(home, "groups", "open", "tea", "990", "2", "24", "lead", "--json"))
    assert (group["status"], group["members"], group["currency"]) == ("open", 1, "USD")
    joined = json.loads(_ok(home, "groups", "join", group["id"], "u1", "--json"))
    assert joined["status"] == "completed"
    listed = json.loads(_ok(home, "groups", "list", "--status", "completed", "--json"))
    assert [g["id"] for g in listed] == [group["id"]]
