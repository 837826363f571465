"""The predictions page: the churn evaluation, the CLV distribution and the valuable customers at
risk, in both languages; a shop with no model gets the hint, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.operators.service import create_operator
from tenure.predict.churn import registry
from tenure.predict.scores import write_scores
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.web.shop import ADMIN, ANALYST, PASSWORD, XSS, signed_in


def test_an_admin_reads_the_churn_evaluation_in_english(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/predictions")
    assert page.status_code == 200
    assert 'data-testid="churn-model"' in page.text and 'data-testid="verdict"' in page.text
    assert 'data-testid="churn-metrics"' in page.text and "ROC-AUC" in page.text
    assert "Top-decile lift" in page.text and "Baseline: recency alone" in page.text
    assert page.text.count('<div class="chart" data-figure=') == 3  # calibration, lift, importance
    assert 'hx-get="/predictions/scores"' in page.text


def test_the_scores_show_the_clv_distribution_and_who_is_at_risk(client: TestClient) -> None:
    signed_in(client)
    part = client.get("/predictions/scores")
    assert part.status_code == 200
    assert "<html" not in part.text  # a fragment for htmx
    assert (
        'data-testid="clv-distribution"' in part.text
        and '<div class="chart" data-figure=' in part.text
    )
    assert "Valuable customers at risk" in part.text
    rows = part.text.split('data-testid="at-risk"')[1].count('<a href="/customers/')
    assert rows == 25


def test_an_analyst_reads_it_in_chinese(client: TestClient) -> None:
    signed_in(client, ANALYST)
    page = client.get("/predictions")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "流失模型评估" in page.text and "预测" in page.text
    part = client.get("/predictions/scores")
    assert "客户生命周期价值" in part.text and "预期损失" in part.text


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    """A console over a shop with no orders, no scores and no model."""
    from tenure.api.app import create_app

    settings = Settings(home=tmp_path, inbox_flush_seconds=0)
    Warehouse(settings).init()
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    database.write(
        lambda s: (
            create_operator(s, ADMIN, PASSWORD, "admin", utc_now()),
            create_operator(s, ANALYST, PASSWORD, "analyst", utc_now(), locale="zh-CN"),
        )
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client, settings


def test_no_model_and_no_scores_give_the_hint(bare: tuple[TestClient, Settings]) -> None:
    client, _ = bare
    signed_in(client)
    page = client.get("/predictions")
    assert page.status_code == 200 and 'data-testid="no-churn-model"' in page.text
    assert "tenure predict churn" in page.text
    part = client.get("/predictions/scores")
    assert part.status_code == 200
    assert "tenure predict churn" in part.text and "tenure predict clv" in part.text
    signed_in(client, ANALYST)
    assert "尚未训练流失模型" in client.get("/predictions").text


class _Stub:
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)


def test_a_model_without_evaluation_says_so(bare: tuple[TestClient, Settings]) -> None:
    client, settings = bare
    meta = {
        "as_of": "2024-03-31",
        "horizon_days": 90,
        "ranker": "model",
        "selection": {"evaluated": False, "ranker": "model", "reason": "only 20 days of orders"},
    }
    registry.save(settings.home, _Stub(), meta)
    signed_in(client)
    page = client.get("/predictions")
    assert page.status_code == 200 and 'data-testid="no-evaluation"' in page.text
    assert (
        "only 20 days of orders" in page.text and '<div class="chart" data-figure=' not in page.text
    )


def test_customer_ids_are_escaped_and_linked_encoded(bare: tuple[TestClient, Settings]) -> None:
    client, settings = bare
    churn = {"churn_probability": 0.8, "drivers": [{"feature": XSS, "value": 1, "effect": 1}]}
    with Warehouse(settings).writer() as writer:
        write_scores(writer, "churn", "v1", [(XSS, churn), ("u2", {"churn_probability": 0.1})])
    signed_in(client)
    part = client.get("/predictions/scores")
    assert part.status_code == 200
    assert XSS not in part.text and str(escape(XSS)) in part.text
    assert f'href="/customers/{quote(XSS)}"' in part.text
    # Churn scores without CLV: ranked by probability, with a note.
    assert "tenure predict clv" in part.text
    users = [chunk.split('"')[0] for chunk in part.text.split('href="/customers/')[1:]]
    assert users == [quote(XSS), "u2"]
