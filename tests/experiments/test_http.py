"""Experiments over HTTP: documents and states (admin), assignment (server), results, power;
every refusal a problem+json with a stable code. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.config import Settings
from tenure.experiments.assignment import bucket
from tenure.experiments.spec import parse
from tenure.ingest.tracking.flush import flush_inbox
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.experiments.builders import START, experiment_doc, order_rows, write
from tests.serving import keyed_client

PROBLEM = "application/problem+json"


@pytest.fixture
def api(settings: Settings, database: Database) -> dict[str, Any]:
    Warehouse(settings).init()
    return keyed_client(settings, database)


def _call(api: dict[str, Any], method: str, path: str, scope: str = "admin", **kw: Any) -> Any:
    headers = {**api["h"][scope], **kw.pop("headers", {})}
    return api["client"].request(method, path, headers=headers, **kw)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _running(api: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc = experiment_doc(**extra)
    _ok(_call(api, "POST", "/v1/experiments", json=doc), 201)
    _ok(_call(api, "POST", f"/v1/experiments/{doc['key']}/start"))
    return doc


def _split_pair() -> tuple[str, str]:
    """An anonymous id and a user id that the hash alone would put in different variants."""
    experiment = parse(experiment_doc())
    return next(
        (f"anon-{i}", f"user-{i}")
        for i in range(200)
        if (bucket(experiment, f"anon-{i}") < 0.5) != (bucket(experiment, f"user-{i}") < 0.5)
    )


class TestDocuments:
    def test_an_experiment_is_created_started_and_stopped(self, api: dict[str, Any]) -> None:
        created = _call(api, "POST", "/v1/experiments", json=experiment_doc())
        assert _ok(created, 201)["status"] == "draft"
        assert created.headers["ETag"] == '"1"'
        assert _ok(_call(api, "POST", "/v1/experiments/gift/start"))["status"] == "running"
        assert [e["key"] for e in _ok(_call(api, "GET", "/v1/experiments?status=running"))] == [
            "gift"
        ]
        assert _ok(_call(api, "POST", "/v1/experiments/gift/stop"))["status"] == "stopped"
        _problem(_call(api, "POST", "/v1/experiments/gift/start"), 409, "experiment_state_conflict")

    def test_weights_that_do_not_sum_to_one_are_refused_with_the_path(
        self, api: dict[str, Any]
    ) -> None:
        doc = experiment_doc(variants=[{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.6}])
        body = _problem(_call(api, "POST", "/v1/experiments", json=doc), 400, "experiment_invalid")
        assert "sum to 1.1" in body["detail"]

    def test_a_metric_on_an_event_never_seen_is_refused(self, api: dict[str, Any]) -> None:
        doc = experiment_doc(
            metrics=[{"key": "carts", "kind": "conversion", "event": "Cart Addded"}]
        )
        body = _problem(
            _call(api, "POST", "/v1/experiments", json=doc), 400, "experiment_unknown_event"
        )
        assert "Cart Addded" in body["detail"]

    def test_an_unknown_standard_metric_names_the_known_ones(self, api: dict[str, Any]) -> None:
        doc = experiment_doc(metrics=["conversions"])
        body = _problem(_call(api, "POST", "/v1/experiments", json=doc), 400, "experiment_invalid")
        assert "$.metrics[0]" in body["detail"] and "revenue" in body["detail"]

    def test_a_used_key_and_an_unknown_key_are_refused(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "POST", "/v1/experiments", json=experiment_doc()), 201)
        _problem(
            _call(api, "POST", "/v1/experiments", json=experiment_doc()), 409, "experiment_exists"
        )
        _problem(_call(api, "GET", "/v1/experiments/nope"), 404, "experiment_not_found")

    def test_a_running_experiment_keeps_its_seed_and_variants(self, api: dict[str, Any]) -> None:
        _running(api)
        changed = experiment_doc(seed="other")
        _problem(_call(api, "PUT", "/v1/experiments/gift", json=changed), 409,
                 "experiment_state_conflict")  # fmt: skip
        swapped = experiment_doc(
            variants=[{"key": "gift", "weight": 0.5}, {"key": "control", "weight": 0.5}]
        )
        _problem(_call(api, "PUT", "/v1/experiments/gift", json=swapped), 409,
                 "experiment_state_conflict")  # fmt: skip

    def test_a_stale_version_is_a_conflict(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "POST", "/v1/experiments", json=experiment_doc()), 201)
        _ok(_call(api, "PUT", "/v1/experiments/gift", json=experiment_doc(name="Gift 2"),
                  headers={"If-Match": '"1"'}))  # fmt: skip
        stale = api["client"].put("/v1/experiments/gift", json=experiment_doc(name="Gift 3"),
                                  headers={**api["h"]["admin"], "If-Match": '"1"'})  # fmt: skip
        _problem(stale, 409, "experiment_version_conflict")

    def test_overlapping_ranges_of_one_namespace_cannot_run_together(
        self, api: dict[str, Any]
    ) -> None:
        _running(api, namespace={"name": "checkout", "start": 0, "end": 0.5})
        other = experiment_doc("ship", namespace={"name": "checkout", "start": 0.4, "end": 1})
        _ok(_call(api, "POST", "/v1/experiments", json=other), 201)
        body = _problem(_call(api, "POST", "/v1/experiments/ship/start"), 409,
                        "experiment_namespace_overlap")  # fmt: skip
        assert "gift" in body["detail"]

    def test_the_server_key_cannot_administer(self, api: dict[str, Any]) -> None:
        response = _call(api, "POST", "/v1/experiments", scope="server", json=experiment_doc())
        assert response.status_code == 403


class TestAssignment:
    def test_assignment_follows_the_growthbook_hash_and_is_stable(
        self, api: dict[str, Any]
    ) -> None:
        doc = _running(api)
        experiment = parse(doc)
        for user in ("u1", "u2", "用户3", "u4"):
            answer = _ok(_call(api, "POST", "/v1/experiments/gift/assign", scope="server",
                              json={"user_id": user}))  # fmt: skip
            expected = "control" if bucket(experiment, user) < 0.5 else "gift"
            assert (answer["variant"], answer["reason"]) == (expected, "assigned")
            again = _call(api, "POST", "/v1/experiments/gift/assign", scope="server",
                          json={"user_id": user})  # fmt: skip
            assert _ok(again)["variant"] == expected

    def test_an_anonymous_visitor_keeps_the_variant_after_signing_in(
        self, api: dict[str, Any]
    ) -> None:
        _running(api)
        path = "/v1/experiments/gift/assign"
        anon, user = _split_pair()
        before = _ok(_call(api, "POST", path, scope="server", json={"anonymous_id": anon}))
        signed_in = _ok(_call(api, "POST", path, scope="server",
                              json={"user_id": user, "anonymous_id": anon}))  # fmt: skip
        later = _ok(_call(api, "POST", path, scope="server", json={"user_id": user}))
        assert before["variant"] == signed_in["variant"] == later["variant"]
        assert later["reason"] == "carried"

    def test_targeting_and_a_stopped_experiment_give_no_variant(self, api: dict[str, Any]) -> None:
        _running(api, targeting={"attributes": {"country": ["CN", "HK"]}})
        path = "/v1/experiments/gift/assign"
        outside = _ok(_call(api, "POST", path, scope="server",
                            json={"user_id": "u1", "attributes": {"country": "US"}}))  # fmt: skip
        inside = _ok(_call(api, "POST", path, scope="server",
                           json={"user_id": "u1", "attributes": {"country": "HK"}}))  # fmt: skip
        assert (outside["in_experiment"], outside["reason"]) == (False, "not_targeted")
        assert inside["in_experiment"] is True
        _ok(_call(api, "POST", "/v1/experiments/gift/stop"))
        stopped = _ok(_call(api, "POST", path, scope="server", json={"user_id": "u1"}))
        assert stopped["reason"] == "not_running"

    def test_a_request_without_any_id_is_malformed(self, api: dict[str, Any]) -> None:
        _running(api)
        response = _call(api, "POST", "/v1/experiments/gift/assign", scope="server", json={})
        assert response.status_code == 422

    def test_evaluate_answers_for_every_running_experiment(self, api: dict[str, Any]) -> None:
        _running(api)
        _running(api, key="ship")
        found = _ok(_call(api, "POST", "/v1/experiments/evaluate", scope="server",
                          json={"user_id": "u9", "record": False}))  # fmt: skip
        assert sorted(a["experiment"] for a in found) == ["gift", "ship"]


class TestResults:
    def test_exposures_recorded_by_the_api_are_what_the_results_count(
        self, api: dict[str, Any], settings: Settings, database: Database
    ) -> None:
        _running(api)
        users = [f"u{i:03d}" for i in range(120)]
        variants = {}
        for user in users:
            answer = _call(api, "POST", "/v1/experiments/gift/assign", scope="server",
                           json={"user_id": user})  # fmt: skip
            variants[user] = _ok(answer)["variant"]
        warehouse = Warehouse(settings)
        flush_inbox(settings, database, warehouse)
        buyers = [u for u in users if variants[u] == "gift" or u.endswith(("0", "5"))]
        now = START.replace(year=2100)  # after any exposure: outside every window
        write(warehouse, orders=order_rows(buyers, [now] * len(buyers), [20.0] * len(buyers)))
        result = _ok(_call(api, "GET", "/v1/experiments/gift/results"))
        expected = {"control": 0, "gift": 0}
        for v in variants.values():
            expected[v] += 1
        assert result["units"] == expected
        assert result["multiple_exposures"] == 0
        conversion = result["metrics"][0]
        assert [v["mean"] for v in conversion["variants"]] == [0.0, 0.0]

    def test_results_without_exposures_are_a_conflict(self, api: dict[str, Any]) -> None:
        _running(api)
        _problem(_call(api, "GET", "/v1/experiments/gift/results"), 409, "experiment_no_exposures")

    def test_the_verdict_speaks_the_readers_language(
        self, api: dict[str, Any], settings: Settings
    ) -> None:
        _ok(_call(api, "POST", "/v1/experiments", json=experiment_doc()), 201)
        from tests.experiments.builders import random_shop

        random_shop(Warehouse(settings), "gift", 600, seed=3, lift=1.0)
        english = _ok(_call(api, "GET", "/v1/experiments/gift/results"))
        chinese = _ok(_call(api, "GET", "/v1/experiments/gift/results?locale=zh-CN"))
        header = api["client"].get("/v1/experiments/gift/results",
                                   headers={**api["h"]["admin"], "Accept-Language": "zh-CN,zh;q=0.9"})  # fmt: skip
        assert english["verdict_code"] == chinese["verdict_code"] == "winner"
        assert "wins on conversion" in english["verdict"]
        assert "胜出" in chinese["verdict"] and _ok(header)["verdict"] == chinese["verdict"]


class TestPower:
    def test_the_calculator_answers_units_and_days(self, api: dict[str, Any]) -> None:
        body = {"baseline_mean": 0.05, "lift": 0.1, "daily_units": 1000}
        answer = _ok(_call(api, "POST", "/v1/experiments/power", json=body))
        assert 30_000 < answer["units_per_variant"] < 40_000
        assert answer["days"] == -(-answer["total_units"] // 1000)
        assert 0.8 <= answer["power"] < 0.8001

    def test_an_impossible_rate_is_a_clear_problem(self, api: dict[str, Any]) -> None:
        body = {"baseline_mean": 0.95, "lift": 0.1}
        _problem(_call(api, "POST", "/v1/experiments/power", json=body), 400,
                 "experiment_power_invalid")  # fmt: skip


class TestSignIn:
    def test_a_segment_identify_call_carries_the_variant_over(self, api: dict[str, Any]) -> None:
        _running(api)
        anon, user = _split_pair()
        path = "/v1/experiments/gift/assign"
        before = _ok(_call(api, "POST", path, scope="server", json={"anonymous_id": anon}))
        identify = {"anonymousId": anon, "userId": user, "traits": {"plan": "free"}}
        _ok(_call(api, "POST", "/v1/identify", scope="write", json=identify))
        after = _ok(_call(api, "POST", path, scope="server", json={"user_id": user}))
        assert (after["variant"], after["reason"]) == (before["variant"], "carried")

    def test_an_alias_call_carries_it_too_and_a_second_visit_keeps_it(
        self, api: dict[str, Any]
    ) -> None:
        _running(api)
        anon, user = _split_pair()
        path = "/v1/experiments/gift/assign"
        before = _ok(_call(api, "POST", path, scope="server", json={"anonymous_id": anon}))
        again = _ok(_call(api, "POST", path, scope="server", json={"anonymous_id": anon}))
        assert again["variant"] == before["variant"]
        _ok(
            _call(
                api, "POST", "/v1/alias", scope="write", json={"previousId": anon, "userId": user}
            )
        )
        after = _ok(_call(api, "POST", path, scope="server", json={"user_id": user}))
        assert after["variant"] == before["variant"]

    def test_a_user_without_an_anonymous_past_keeps_the_hash(self, api: dict[str, Any]) -> None:
        _running(api)
        _, user = _split_pair()
        _ok(_call(api, "POST", "/v1/identify", scope="write", json={"userId": user}))
        after = _ok(_call(api, "POST", "/v1/experiments/gift/assign", scope="server",
                          json={"user_id": user}))  # fmt: skip
        expected = "control" if bucket(parse(experiment_doc()), user) < 0.5 else "gift"
        assert (after["variant"], after["reason"]) == (expected, "assigned")


class TestReviewedEdges:
    def test_a_user_assigned_by_their_own_id_keeps_it_after_signing_in_elsewhere(
        self, api: dict[str, Any]
    ) -> None:
        _running(api)
        anon, user = _split_pair()
        path = "/v1/experiments/gift/assign"
        own = _ok(_call(api, "POST", path, scope="server", json={"user_id": user}))
        _ok(_call(api, "POST", path, scope="server", json={"anonymous_id": anon}))
        both = _ok(_call(api, "POST", path, scope="server",
                         json={"user_id": user, "anonymous_id": anon}))  # fmt: skip
        _ok(_call(api, "POST", "/v1/identify", scope="write",
                  json={"anonymousId": anon, "userId": user}))  # fmt: skip
        later = _ok(_call(api, "POST", path, scope="server", json={"user_id": user}))
        assert own["variant"] == both["variant"] == later["variant"]
        assert later["reason"] == "assigned"

    def test_an_identify_with_an_id_the_table_cannot_hold_is_still_accepted(
        self, api: dict[str, Any]
    ) -> None:
        _running(api)
        for anon in ("a\x00b", "x" * 200):
            body = {"anonymousId": anon, "userId": "u-nul"}
            assert _call(api, "POST", "/v1/identify", scope="write", json=body).status_code == 200

    def test_a_weight_change_starts_a_phase_whose_split_the_results_check(
        self, api: dict[str, Any], settings: Settings, database: Database
    ) -> None:
        _running(api)
        path = "/v1/experiments/gift/assign"
        for i in range(150):
            _ok(_call(api, "POST", path, scope="server", json={"user_id": f"early-{i}"}))
        doc = experiment_doc(
            variants=[{"key": "control", "weight": 0.2}, {"key": "gift", "weight": 0.8}]
        )
        changed = _ok(_call(api, "PUT", "/v1/experiments/gift", json=doc))
        assert changed["phase"] == 2
        late = {}
        for i in range(300):
            answer = _call(api, "POST", path, scope="server", json={"user_id": f"late-{i}"})
            late[f"late-{i}"] = _ok(answer)["variant"]
        flush_inbox(settings, database, Warehouse(settings))
        result = _ok(_call(api, "GET", "/v1/experiments/gift/results"))
        assert result["phase"] == 2
        assert sum(result["units"].values()) == 300  # the first phase's exposures are not read
        assert result["units"]["gift"] == sum(v == "gift" for v in late.values())
        assert not result["srm_flag"]

    def test_evaluate_refuses_a_key_that_is_not_one(self, api: dict[str, Any]) -> None:
        body = {"user_id": "u1", "keys": ["a\x00b"]}
        response = _call(api, "POST", "/v1/experiments/evaluate", scope="server", json=body)
        assert response.status_code == 422

    def test_infinite_or_nan_settings_are_refused(self, api: dict[str, Any]) -> None:
        for analysis in ({"prior_stddev": 1e-300}, {"sequential_tuning": 1e300}):
            doc = experiment_doc(analysis=analysis)
            _problem(_call(api, "POST", "/v1/experiments", json=doc), 400, "experiment_invalid")
        yaml_doc = "key: g\nname: G\nvariants: [{key: a, weight: .5}, {key: b, weight: .5}]\n"
        with pytest.raises(Exception, match="finite"):
            parse(yaml_doc + "analysis: {prior_mean: .nan}\n")
