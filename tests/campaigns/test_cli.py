"""`tenure campaigns …` as separate processes, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import add_users, campaign_doc, user_ids
from tests.campaigns.smtp_sink import SmtpSink
from tests.serving import run_cli


def _ok(home: Path, *args: str, **env: str) -> str:
    result = run_cli(home, "campaigns", *args, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _fails(home: Path, *args: str, **env: str) -> str:
    result = run_cli(home, "campaigns", *args, **env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_an_operator_saves_starts_sends_and_reads_the_results(home: Path, tmp_path: Path) -> None:
    warehouse = Warehouse(Settings(home=home))
    warehouse.init()
    add_users(warehouse, user_ids(4))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "user_id,email,locale,timezone,consent_email\n"
        "u000,u000@example.com,en,Asia/Shanghai,opted_in\n"
        "u001,u001@example.com,zh-CN,Mars/Olympus,opted_in\n",
        encoding="utf-8",
    )
    assert "Row 3" in _fails(home, "contacts", "import", str(contacts))
    contacts.write_text(
        "user_id,email,locale,timezone,consent_email\n"
        "u000,u000@example.com,en,Asia/Shanghai,opted_in\n"
        "u001,u001@example.com,zh-CN,Asia/Shanghai,opted_in\n"
        "u002,u002@example.com,en,,\n",
        encoding="utf-8",
    )
    assert "3 contacts" in _ok(home, "contacts", "import", str(contacts))
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"caps": [{"count": 3, "days": 1}], "quiet_hours": None}), encoding="utf-8"
    )
    assert json.loads(_ok(home, "policy", "--set", str(policy)))["quiet_hours"] is None

    broken = tmp_path / "broken.yaml"
    broken.write_text(json.dumps(campaign_doc(steps=[{"id": "a", "type": "send", "channel": "email",
                      "content": {"text": "Hi\n{{ user.first_name\nbye"}}])), encoding="utf-8")  # fmt: skip
    assert "$.steps[0].content.text" in _fails(home, "validate", str(broken))
    good = tmp_path / "welcome.json"
    good.write_text(json.dumps(campaign_doc()), encoding="utf-8")
    assert "version 1" in _ok(home, "create", str(good))
    assert "TENURE_SMTP_URL" in _fails(home, "start", "welcome")

    with SmtpSink() as sink:
        smtp = {"TENURE_SMTP_URL": sink.url}
        assert "active" in _ok(home, "start", "welcome", **smtp)
        assert "sent 2" in _ok(home, "dispatch", **smtp)
        assert sorted(str(m["Subject"]) for m in sink.messages) == ["Hello Ann", "你好 小明"]

    found = json.loads(_ok(home, "results", "welcome", "--json"))
    assert found["steps"][0]["messages"]["sent"] == 2 and found["steps"][0]["skipped"] == 2
    history = json.loads(_ok(home, "history", "u002", "--json"))
    assert [(d["action"], d["reason"]) for d in history["decisions"]][-1] == (
        "skipped",
        "no_consent",
    )
    preview = json.loads(_ok(home, "preview", "welcome", "u001", "--json"))
    assert preview[0]["subject"] == "你好 小明" and preview[0]["to"] == "u001@example.com"
    assert "paused" in _ok(home, "pause", "welcome")
    assert "cannot pause" in _fails(home, "pause", "welcome")
    listed = json.loads(_ok(home, "list", "--json"))
    assert [(c["key"], c["status"]) for c in listed] == [("welcome", "paused")]


def test_a_playbook_is_listed_and_saved_with_its_key(home: Path) -> None:
    names = [p["name"] for p in json.loads(_ok(home, "playbooks", "--json"))]
    assert "cart_abandonment" in names and "at_risk_winback" in names
    assert "needs a value for offer" in _fails(home, "create", "--playbook", "at_risk_winback")
    assert "version 1" in _ok(home, "create", "--playbook", "birthday", "--key", "bday")
    shown = json.loads(_ok(home, "show", "bday"))
    assert shown["document"]["trigger"]["attribute"] == "birthday"
