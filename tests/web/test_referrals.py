"""The referrals page: the review queue with approve / reject (admins, with the CSRF token),
recent decisions and program numbers, in both languages."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from markupsafe import escape

from tenure.config import Settings
from tenure.referrals import service
from tenure.storage.database import Database
from tests.web.shop import ANALYST, XSS, held_referral, signed_in


def _status(shop: Settings, referral_id: str) -> str:
    return (
        Database(shop.sqlalchemy_url).read(lambda s: service.detail(s, referral_id)).referral.status
    )


def test_an_admin_approves_a_held_referral_from_the_queue(
    client: TestClient, shop: Settings
) -> None:
    referral_id = held_referral(shop)
    token = signed_in(client)
    page = client.get("/referrals")
    assert page.status_code == 200 and 'data-testid="review-queue"' in page.text
    row = page.text.split(f'data-referral="{referral_id}"')[1].split("</tr>")[0]
    assert "same device" in row and f'action="/referrals/{referral_id}/approve"' in row
    assert 'data-testid="reject"' in row and 'name="csrf_token"' in row

    done = client.post(
        f"/referrals/{referral_id}/approve",
        data={"csrf_token": token, "note": "siblings"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/referrals?done=approved&referral={referral_id}"
    assert _status(shop, referral_id) == "rewarded"
    after = client.get(done.headers["location"])
    assert f"Referral {referral_id} approved" in after.text
    assert f'data-referral="{referral_id}"' not in after.text  # left the queue
    decisions = after.text.split('data-testid="recent-decisions"')[1]
    assert (
        "operator review" in decisions and referral_id in decisions and "note=siblings" in decisions
    )

    again = client.post(f"/referrals/{referral_id}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "only a held referral can be reviewed" in again.text


def test_an_admin_rejects_and_names_are_escaped(client: TestClient, shop: Settings) -> None:
    referral_id = held_referral(shop, invitee=XSS + uuid.uuid4().hex[:6])
    token = signed_in(client)
    page = client.get("/referrals")
    assert XSS not in page.text and str(escape(XSS)) in page.text
    done = client.post(
        f"/referrals/{referral_id}/reject",
        data={"csrf_token": token, "note": XSS},
        follow_redirects=False,
    )
    assert done.status_code == 303 and _status(shop, referral_id) == "rejected"
    after = client.get(done.headers["location"])
    assert f"Referral {referral_id} rejected" in after.text and XSS not in after.text


def test_the_analyst_and_a_missing_token_are_refused(client: TestClient, shop: Settings) -> None:
    referral_id = held_referral(shop)
    signed_in(client)
    assert client.post(f"/referrals/{referral_id}/approve", data={}).status_code == 403
    bad = client.post(f"/referrals/{referral_id}/approve", data={"csrf_token": "forged"})
    assert bad.status_code == 403
    token = signed_in(client, ANALYST)
    page = client.get("/referrals")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "待审核队列" in page.text and "推荐计划" in page.text and "最近的处理记录" in page.text
    assert 'data-testid="approve"' not in page.text
    for action in ("approve", "reject"):
        refused = client.post(f"/referrals/{referral_id}/{action}", data={"csrf_token": token})
        assert refused.status_code == 403 and "只有管理员可以修改此内容" in refused.text
    assert _status(shop, referral_id) == "held"


def test_unknown_ids_and_odd_input_give_a_message_not_a_500(client: TestClient) -> None:
    token = signed_in(client)
    unknown = client.post("/referrals/ref_nope/approve", data={"csrf_token": token})
    assert unknown.status_code == 404 and "No referral ref_nope." in unknown.text
    assert 'data-testid="review-error"' in unknown.text
    odd = client.post("/referrals/%3Cb%3Ex%3C%2Fb%3E/reject", data={"csrf_token": token})
    assert odd.status_code == 404 and "<b>x</b>" not in odd.text
    assert (
        client.post("/referrals/" + "x" * 41 + "/approve", data={"csrf_token": token}).status_code
        == 422
    )
    long_note = client.post(
        "/referrals/ref_nope/approve", data={"csrf_token": token, "note": "n" * 501}
    )
    assert long_note.status_code == 422
    for query in ("done=bogus", "offset=-1", "referral=" + "x" * 41):
        assert client.get(f"/referrals?{query}").status_code == 422, query
    flash = client.get("/referrals?done=approved&referral=%3Cscript%3E")
    assert flash.status_code == 200 and "<script>" not in flash.text.split("<main>")[1]
    signed_in(client, ANALYST)
    assert "暂无" in client.get("/referrals?offset=100000").text


def test_program_numbers_count_the_referrals(client: TestClient, shop: Settings) -> None:
    held_referral(shop)
    stats = Database(shop.sqlalchemy_url).read(service.program_stats)
    signed_in(client)
    card = client.get("/referrals").text.split('data-testid="referral-stats"')[1]
    held_row = card.split("held for review</td>")[1].split("</tr>")[0]
    assert f"<td>{stats.by_status['held']}</td>" in held_row
    assert "same device" in card  # the rules that fired
