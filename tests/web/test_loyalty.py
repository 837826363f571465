"""The loyalty page: the program, members per tier, points liability and the program editor
(admins save through the loyalty service; analysts read it and are refused)."""

from __future__ import annotations

import json
import re

import yaml
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.loyalty import points
from tenure.loyalty.models import Account
from tenure.loyalty.program import current_program
from tenure.loyalty.tiers import service as tiers
from tenure.storage.database import Database
from tests.web.shop import ANALYST, XSS, signed_in


def _document(client: TestClient) -> tuple[dict[str, object], int]:
    """The program the editor shows, and the version it would save over."""
    page = client.get("/loyalty").text
    text = page.split('data-testid="program-document">')[1].split("</textarea>")[0]
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version is not None
    unescaped = text.replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(unescaped.replace("&#39;", "'").replace("&amp;", "&")), int(version[1])


def _save(client: TestClient, token: str, document: object, version: int, **extra: str):  # type: ignore[no-untyped-def]
    text = document if isinstance(document, str) else json.dumps(document)
    return client.post(
        "/loyalty/program",
        data={"csrf_token": token, "document": text, "expected_version": str(version), **extra},
        follow_redirects=False,
    )


def test_an_admin_sees_the_program_tiers_liability_and_editor(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/loyalty")
    assert page.status_code == 200
    for testid in ("program", "tier-distribution", "liability", "program-editor", "save-program"):
        assert f'data-testid="{testid}"' in page.text
    assert "Points outstanding" in page.text and "Members per tier" in page.text
    assert 'name="csrf_token"' in page.text


def test_an_analyst_reads_in_chinese_and_cannot_save(client: TestClient) -> None:
    admin_token = signed_in(client)
    document, version = _document(client)
    token = signed_in(client, ANALYST)
    page = client.get("/loyalty")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "会员积分" in page.text and "积分负债" in page.text and "各等级会员数" in page.text
    assert 'data-testid="read-only"' in page.text and "readonly" in page.text
    assert 'data-testid="save-program"' not in page.text
    refused = _save(client, token, document, version)
    assert refused.status_code == 403 and "只有管理员可以修改此内容" in refused.text
    assert admin_token != token


def test_a_save_without_the_token_is_refused(client: TestClient) -> None:
    signed_in(client)
    document, version = _document(client)
    refused = client.post(
        "/loyalty/program",
        data={"document": json.dumps(document), "expected_version": str(version)},
    )
    assert refused.status_code == 403


def test_an_admin_saves_a_new_version_and_names_are_escaped(
    client: TestClient, shop: Settings
) -> None:
    token = signed_in(client)
    document, version = _document(client)
    original = json.loads(json.dumps(document))
    document["earn_points_per_unit"] = 3
    document["tiers"][0]["name"] = XSS  # type: ignore[index]
    saved = _save(client, token, document, version, note="three points " + XSS)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/loyalty?done=saved&version={version + 1}"
    page = client.get(saved.headers["location"])
    assert f"Saved: the program is now at version {version + 1}." in page.text
    assert XSS not in page.text and str(escape(XSS)) in page.text
    live_version, program = Database(shop.sqlalchemy_url).read(current_program)
    assert (live_version, program.earn_points_per_unit) == (version + 1, 3)
    # The same document again changes nothing.
    again = _save(client, token, document, version + 1)
    assert again.headers["location"] == f"/loyalty?done=unchanged&version={version + 1}"
    assert "Nothing changed" in client.get(again.headers["location"]).text
    # Put the shared shop's program back for the other pages' tests.
    assert _save(client, token, original, version + 1).status_code == 303


def test_a_yaml_document_saves_too(client: TestClient, shop: Settings) -> None:
    token = signed_in(client)
    document, version = _document(client)
    original = json.loads(json.dumps(document))
    document["min_redeem_points"] = 250
    saved = _save(client, token, yaml.safe_dump(document), version)
    assert saved.status_code == 303
    program = Database(shop.sqlalchemy_url).read(current_program)[1]
    assert program.min_redeem_points == 250
    assert _save(client, token, original, version + 1).status_code == 303


def test_an_invalid_program_is_shown_with_its_path(client: TestClient, shop: Settings) -> None:
    token = signed_in(client)
    document, version = _document(client)
    document["tiers"][1]["threshold"] = -5  # type: ignore[index]
    refused = _save(client, token, document, version)
    assert refused.status_code == 400
    assert "tiers.1.threshold" in refused.text and 'data-testid="program-error"' in refused.text
    assert "-5" in refused.text.split('data-testid="program-document">')[1]  # kept for fixing
    assert Database(shop.sqlalchemy_url).read(current_program)[0] == version  # nothing saved


def test_unreadable_stale_and_odd_documents_are_refused_on_the_page(client: TestClient) -> None:
    token = signed_in(client)
    document, version = _document(client)
    for text in ("{not json: [", "[" * 100_000, "- just\n- a list", "null", "😀"):
        refused = _save(client, token, text, version)
        assert refused.status_code == 400, text[:20]
        assert 'data-testid="program-error"' in refused.text
    stale = _save(client, token, {**document, "earn_points_per_unit": 7}, version + 50)
    assert stale.status_code == 409 and "reload it" in stale.text
    bad_version = _save(client, token, document, -1)
    assert bad_version.status_code == 422
    too_long = _save(client, token, "x" * 300_000, version)
    assert too_long.status_code == 422
    assert client.get("/loyalty?done=bogus").status_code == 422


def test_members_per_tier_match_the_accounts(client: TestClient, shop: Settings) -> None:
    database = Database(shop.sqlalchemy_url)
    now = utc_now()

    def members(session):  # type: ignore[no-untyped-def]
        _, program = current_program(session)
        for user in ("tier-a", "tier-b", "tier-c"):
            points.adjust(session, program, user, 100, "test", f"web-tier:{user}", now)
        for user in ("tier-b", "tier-c"):
            account = points.open_account(session, user, now)
            tiers.set_tier(session, program, account, "gold", now)

    database.write(members)
    gold = database.read(lambda s: s.scalar(select(func.count()).where(Account.tier == "gold")))
    signed_in(client)
    table = client.get("/loyalty").text.split('data-testid="tier-distribution"')[1]
    gold_row = table.split('<span class="note">gold</span>')[1].split("</tr>")[0]
    assert gold >= 2 and f"<td>{gold}</td>" in gold_row
    liability = client.get("/loyalty").text.split('data-testid="liability"')[1]
    assert "Points outstanding" in liability
