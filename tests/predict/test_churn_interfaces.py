"""Churn and CLV scores through HTTP, the CLI and the job worker, on a simulated shop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.apikeys.service import create_key
from tenure.config import Settings
from tenure.predict.scores import latest_scores
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.serving import run_cli


@pytest.fixture
def home(churn_shop: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(churn_shop, copy)
    return copy


def score_count(home: Path, model: str | None = None) -> int:
    with Warehouse(Settings(home=home)).reader() as con:
        scores = con.table("scores")
        if model is not None:
            scores = scores.filter(scores.model == model)
        return int(scores.count().execute())


class TestHttp:
    def test_train_evaluate_and_score_with_an_admin_key(self, home: Path) -> None:
        settings = Settings(home=home, inbox_flush_seconds=0)
        database = Database(settings.sqlalchemy_url)
        database.upgrade()
        with database.session() as session:
            admin = create_key(session, "admin", ["admin"]).secret
        client = TestClient(create_app(settings))
        auth = {"authorization": f"Bearer {admin}"}

        trained = client.post("/v1/predict/churn/train", json={"horizon_days": 60}, headers=auth)
        assert trained.status_code == 200, trained.text
        body = trained.json()
        assert body["horizon_days"] == 60 and body["scored"] == score_count(home, "churn") > 0

        evaluation = client.get("/v1/predict/churn/evaluation?horizon_days=60", headers=auth)
        assert evaluation.status_code == 200, evaluation.text
        assert set(evaluation.json()["rankings"]) >= {"model", "recency", "bgnbd_p_alive"}

        clv = client.post("/v1/predict/clv/score", json={}, headers=auth)
        assert clv.status_code == 200, clv.text
        assert clv.json()["written"] == score_count(home, "clv")

        with Warehouse(settings).reader() as con:
            user = con.table("scores").user_id.min().execute()
            body_user = latest_scores(con, user)
        assert set(body_user) == {"churn", "clv"}

    def test_refusals(self, home: Path) -> None:
        settings = Settings(home=home, inbox_flush_seconds=0)
        database = Database(settings.sqlalchemy_url)
        database.upgrade()
        with database.session() as session:
            server = create_key(session, "server", ["server"]).secret
            admin = create_key(session, "admin", ["admin"]).secret
        client = TestClient(create_app(settings))
        assert client.get("/v1/predict/churn/evaluation").status_code == 401
        forbidden = client.post(
            "/v1/predict/churn/train", json={}, headers={"authorization": f"Bearer {server}"}
        )
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "scope_required")
        bad = client.post(
            "/v1/predict/churn/train",
            json={"horizon_days": 2},
            headers={"authorization": f"Bearer {admin}"},
        )
        assert bad.status_code == 422
        late = client.get(
            "/v1/predict/churn/evaluation?cutoff=2030-01-01",
            headers={"authorization": f"Bearer {admin}"},
        )
        assert (late.status_code, late.json()["code"]) == (400, "churn_invalid_input")


class TestCli:
    def test_churn_writes_scores_and_clv_no_write_does_not(self, home: Path) -> None:
        out = run_cli(home, "predict", "churn", "--horizon-days", "60", "--format", "json")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["written"] == result["customers"] == score_count(home, "churn")
        assert result["top"][0]["churn_probability"] >= result["top"][-1]["churn_probability"]

        out = run_cli(home, "predict", "clv", "--no-write", "--format", "json")
        assert out.returncode == 0, out.stderr
        assert "scores" not in json.loads(out.stdout)
        assert score_count(home, "clv") == 0

        report = home / "eval.html"
        out = run_cli(
            home,
            "predict",
            "churn-eval",
            "--horizon-days",
            "60",
            "--format",
            "html",
            "--out",
            str(report),
        )
        assert out.returncode == 0, out.stderr
        assert "ROC-AUC" in report.read_text("utf-8")

    def test_jobs_run_by_name_and_by_the_worker(self, home: Path) -> None:
        out = run_cli(home, "jobs", "run", "predict.clv.score", "--format", "json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "ok"
        assert score_count(home, "clv") > 0
        out = run_cli(home, "worker", "--once")
        assert out.returncode == 0, out.stderr
        assert "predict.churn.train" in out.stdout and "predict.clv.score" not in out.stdout
        out = run_cli(home, "jobs", "list", "--format", "json")
        runs = {row["name"]: (row["runs"], row["last_status"]) for row in json.loads(out.stdout)}
        assert runs["predict.churn.train"] == runs["predict.clv.score"] == (1, "ok")
        assert score_count(home, "churn") > 0
        out = run_cli(home, "jobs", "run", "nope")
        assert out.returncode == 1 and "job_unknown" in out.stderr
