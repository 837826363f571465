"""The console's guards, over every route it registers (new pages are covered as they land):
no page or fragment without a session, analysts change nothing, forged forms are refused,
data is shown as text, and the sign-in cannot be turned into an open redirect."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tenure.web.pages import PAGE_ROUTERS
from tenure.web.router import router as console_router
from tests.web.shop import ADMIN, ANALYST, PASSWORD, XSS, signed_in

# Open without a session: the sign-in and static files.
PUBLIC = {"/login", "/static/plotly.min.js"}
# Every operator, analysts too, signs out and manages their own account.
SELF_SERVICE = {"/logout", "/preferences/locale", "/account", "/account/password"}


def _routes() -> list[tuple[str, str]]:
    found = []
    for router in (console_router, *PAGE_ROUTERS):
        for route in router.routes:
            if isinstance(route, APIRoute):
                found += [(method, route.path) for method in sorted(route.methods - {"HEAD"})]
    return found


def _concrete(path: str) -> str:
    """A path template with sample values (`{key}`, `{user_id:path}` → `sample`)."""
    return re.sub(r"\{[^}]+\}", "sample", path)


ROUTES = _routes()
PAGES = [path for method, path in ROUTES if method == "GET" and path not in PUBLIC]
CHANGES = [path for method, path in ROUTES if method != "GET" and path not in PUBLIC]
ADMIN_CHANGES = [path for path in CHANGES if path not in SELF_SERVICE]


def test_the_console_has_pages_and_changes() -> None:
    assert "/" in PAGES and "/account" in PAGES and len(ADMIN_CHANGES) >= 10


@pytest.mark.parametrize("path", PAGES)
def test_no_page_without_a_session(client: TestClient, path: str) -> None:
    response = client.get(_concrete(path), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    partial = client.get(_concrete(path), headers={"HX-Request": "true"}, follow_redirects=False)
    assert partial.status_code == 401 and partial.headers["hx-redirect"].startswith("/login")
    assert partial.text == ""


@pytest.mark.parametrize("path", CHANGES)
def test_no_change_without_a_session(client: TestClient, path: str) -> None:
    response = client.post(_concrete(path), data={"csrf_token": "x"}, follow_redirects=False)
    assert response.status_code == 401


@pytest.mark.parametrize("path", ADMIN_CHANGES)
def test_an_analyst_changes_nothing(client: TestClient, path: str) -> None:
    csrf = signed_in(client, ANALYST)
    response = client.post(_concrete(path), data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 403
    assert "只有管理员" in response.text  # the analyst reads zh-CN


@pytest.mark.parametrize("path", CHANGES)
def test_a_forged_form_is_refused(client: TestClient, path: str) -> None:
    signed_in(client, ADMIN)
    for forged in ({}, {"csrf_token": ""}, {"csrf_token": "guessed"}):
        response = client.post(_concrete(path), data=forged, follow_redirects=False)
        assert response.status_code == 403, (path, forged)


def test_a_token_from_another_session_is_refused(client: TestClient, shop: object) -> None:
    other = signed_in(client, ANALYST)
    signed_in(client, ADMIN)
    response = client.post(
        "/preferences/locale", data={"csrf_token": other, "locale": "en"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": ADMIN, "password": PASSWORD}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_redirects_off_site(client: TestClient, target: str) -> None:
    response = client.post(
        "/login",
        data={"username": ADMIN, "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_wrong_password_says_so_without_telling_which_part(client: TestClient) -> None:
    for username in (ADMIN, "nobody"):
        response = client.post("/login", data={"username": username, "password": "nope nope nope"})
        assert response.status_code == 401
        assert "username or password is wrong" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(client: TestClient) -> None:
    csrf = signed_in(client, ADMIN)
    kept = dict(client.cookies)
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    client.cookies.update(kept)  # a stolen copy of the cookie no longer works either
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_operator_switches_language(client: TestClient) -> None:
    csrf = signed_in(client, ADMIN)
    client.post("/preferences/locale", data={"csrf_token": csrf, "locale": "zh-CN", "next": "/"})
    assert "概览" in client.get("/").text
    client.post("/preferences/locale", data={"csrf_token": csrf, "locale": "en", "next": "/"})
    assert "Overview" in client.get("/").text


@pytest.mark.parametrize("path", PAGES)
def test_markup_in_the_data_is_shown_as_text(client: TestClient, path: str) -> None:
    """The shop holds a customer whose id, name and product are `<script>alert(1)</script>`."""
    signed_in(client, ADMIN)
    concrete = _concrete(path).replace("sample", XSS)
    response = client.get(concrete, params={"q": XSS})
    assert XSS not in response.text
    assert response.status_code < 500
