"""The overview page over the simulated shop, in both languages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.shop import ANALYST, signed_in


def test_overview_shows_the_kpis_stages_and_risk(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-testid="kpi-tiles"' in page.text
    assert "net revenue" in page.text and "Lifecycle stages" in page.text
    assert 'data-testid="risk-bands"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_an_operator_reading_chinese_gets_chinese(client: TestClient) -> None:
    signed_in(client, ANALYST)
    page = client.get("/")
    assert "概览" in page.text and "生命周期阶段" in page.text
    assert 'lang="zh-CN"' in page.text


def test_pages_say_their_server_time_and_the_api_does_not(client: TestClient) -> None:
    signed_in(client)
    timing = client.get("/").headers["server-timing"]
    assert timing.startswith("app;dur=") and float(timing.split("=")[1]) > 0
    assert "server-timing" not in client.get("/healthz").headers
