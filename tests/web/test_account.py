"""One's own account page: language, e-mail and weekly review, and a new password; analysts too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.operators.service import create_operator
from tenure.storage.database import Database
from tests.web.shop import PASSWORD, signed_in


def _operator(shop: Settings, name: str) -> None:
    Database(shop.sqlalchemy_url).write(
        lambda s: create_operator(s, name, PASSWORD, "analyst", utc_now())
    )


def test_an_analyst_subscribes_to_the_weekly_review_in_chinese(
    client: TestClient, shop: Settings
) -> None:
    _operator(shop, "mei")
    csrf = signed_in(client, "mei")
    page = client.get("/account")
    assert page.status_code == 200 and 'data-testid="account-settings"' in page.text
    refused = client.post(
        "/account", data={"csrf_token": csrf, "locale": "en", "weekly_review": "true"}
    )
    assert refused.status_code == 400 and "needs an e-mail address" in refused.text
    saved = client.post(
        "/account",
        data={"csrf_token": csrf, "locale": "zh-CN", "email": "mei@example.com",
              "weekly_review": "true"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == "/account?done=saved"
    after = client.get("/account?done=saved")
    assert "已保存" in after.text and 'value="mei@example.com"' in after.text
    assert "checked" in after.text.split('name="weekly_review"')[1].split(">")[0]


def test_a_new_password_needs_the_current_one_and_signs_out(
    client: TestClient, shop: Settings
) -> None:
    _operator(shop, "kai")
    csrf = signed_in(client, "kai")
    new = "an entirely new passphrase"
    wrong = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": "not it at all", "new": new, "repeat": new},
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    mismatch = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": new, "repeat": new + "!"},
    )
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    short = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": "short", "repeat": "short"},
    )
    assert short.status_code == 400
    done = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": new, "repeat": new},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out
    again = client.post("/login", data={"username": "kai", "password": new}, follow_redirects=False)
    assert again.status_code == 303
