"""The segments pages: the list, the builder with its live count, saving (admins only, with the
CSRF token), a segment's members, refresh, delete and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tenure.analytics.features import data_end
from tenure.config import Settings
from tenure.segments import service
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.web.shop import ANALYST, signed_in

REPEAT_ROWS = {"combine": "all", "field": ["feature.orders"], "op": ["gte"], "value": ["2"]}
REPEAT_RULE = {"all": [{"field": "feature.orders", "op": "gte", "value": 2}]}


def _form(token: str, **fields: object) -> dict[str, object]:
    return {"csrf_token": token, **REPEAT_ROWS, **fields}


def _preview(shop: Settings, rule: object) -> tuple[int, list[str]]:
    database = Database(shop.sqlalchemy_url)
    with Warehouse(shop).reader() as con:
        end = data_end(con, shop.zone) or date.today()
        return database.read(lambda s: service.preview(s, con, rule, shop.zone, end, 10))


@pytest.fixture
def cleanup(shop: Settings) -> Iterator[list[str]]:
    """Keys of segments a test saved, deleted afterwards (the shop is shared)."""
    keys: list[str] = []
    yield keys
    database = Database(shop.sqlalchemy_url)
    for key in keys:
        if database.read(lambda s, k=key: service.repository.segment_by_key(s, k)) is not None:
            database.write(lambda s, k=key: service.delete_segment(s, k))


class TestListAndBuilder:
    def test_the_page_renders_with_the_builder(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get("/segments")
        assert page.status_code == 200
        assert 'data-testid="segment-list"' in page.text
        assert 'data-testid="segment-builder"' in page.text
        assert 'hx-get="/segments/preview"' in page.text
        assert 'hx-params="not csrf_token' in page.text  # the token stays out of URLs
        assert 'data-testid="save-segment"' in page.text  # admins may save
        assert page.text.count('name="field"') >= 6

    def test_an_analyst_reads_it_in_chinese_without_the_save_button(
        self, client: TestClient
    ) -> None:
        signed_in(client, ANALYST)
        page = client.get("/segments")
        assert page.status_code == 200 and "分群构建器" in page.text
        assert 'data-testid="save-segment"' not in page.text

    def test_a_link_prefills_the_rows(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get(
            "/segments", params={"field": "rfm.segment", "op": "eq", "value": "Can't Lose"}
        )
        assert page.status_code == 200
        assert 'value="rfm.segment"' in page.text and 'value="Can&#39;t Lose"' in page.text


class TestLiveCount:
    def test_the_count_matches_the_service_preview(
        self, client: TestClient, shop: Settings
    ) -> None:
        token = signed_in(client)
        fragment = client.get("/segments/preview", params=_form(token))
        assert fragment.status_code == 200 and "<html" not in fragment.text
        count, sample = _preview(shop, REPEAT_RULE)
        shown = re.search(r'data-testid="preview-count">([^<]+)<', fragment.text)
        assert shown is not None and shown.group(1) == f"{count:,}"
        assert count > 0
        assert all(f">{user}</a>" in fragment.text for user in sample)

    def test_any_of_two_rows_and_a_written_rule(self, client: TestClient, shop: Settings) -> None:
        token = signed_in(client)
        rows = {
            "combine": "any",
            "field": ["user.country", "user.country", ""],
            "op": ["eq", "in", "eq"],
            "value": ["DE", "FR, GB", ""],
        }
        fragment = client.get("/segments/preview", params={"csrf_token": token, **rows})
        expected = {
            "any": [
                {"field": "user.country", "op": "eq", "value": "DE"},
                {"field": "user.country", "op": "in", "value": ["FR", "GB"]},
            ]
        }
        count, _ = _preview(shop, expected)
        assert f'data-testid="preview-count">{count:,}<' in fragment.text
        written = client.get(
            "/segments/preview",
            params={
                "rule": '{"all": [{"field": "user.country", "op": "eq", "value": "DE"}]}',
            },
        )
        count, _ = _preview(shop, {"all": [{"field": "user.country", "op": "eq", "value": "DE"}]})
        assert f'data-testid="preview-count">{count:,}<' in written.text

    def test_a_rule_error_names_the_wrong_part(self, client: TestClient) -> None:
        token = signed_in(client)
        bad = {
            "csrf_token": token,
            "field": ["user.country", "feature.orders"],
            "op": ["eq", "gte"],
            "value": ["DE", "<many>"],
        }
        fragment = client.get("/segments/preview", params=bad)
        assert fragment.status_code == 200
        assert 'data-testid="preview-error"' in fragment.text
        assert "$.all[1].value" in fragment.text and "&lt;many&gt;" in fragment.text
        unknown = client.get("/segments/preview", params={**bad, "field": ["user.nope", ""]})
        assert "$.all[0].field" in unknown.text
        yaml = client.get("/segments/preview", params={"csrf_token": token, "rule": "[oops"})
        assert 'data-testid="preview-error"' in yaml.text

    def test_out_of_bounds_input_is_refused(self, client: TestClient) -> None:
        token = signed_in(client)
        many = {"csrf_token": token, "field": ["feature.orders"] * 21, "value": ["1"] * 21}
        assert client.get("/segments/preview", params=many).status_code == 422
        nul = {"csrf_token": token, "field": ["tag"], "value": ["v\x00ip"]}
        assert client.get("/segments/preview", params=nul).status_code == 422
        named = _form(token, key="web-nul", name="a\x00b")
        assert client.post("/segments", data=named).status_code == 422

    def test_no_condition_yet_is_a_hint(self, client: TestClient) -> None:
        signed_in(client)
        fragment = client.get("/segments/preview", params={"combine": "all", "field": ""})
        assert fragment.status_code == 200 and "Add a condition" in fragment.text

    def test_the_analyst_may_count(self, client: TestClient) -> None:
        signed_in(client, ANALYST)
        fragment = client.get("/segments/preview", params=REPEAT_ROWS)
        assert fragment.status_code == 200 and 'data-testid="preview-count"' in fragment.text

    def test_a_segment_keyed_preview_keeps_its_page(
        self, client: TestClient, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        cleanup.append("preview")
        client.post("/segments", data=_form(token, key="preview"))
        page = client.get("/segments/preview")
        assert page.status_code == 200 and 'data-testid="member-count"' in page.text
        assert client.get("/segments/preview", params={"offset": 50}).status_code == 200


class TestSaving:
    def test_an_admin_saves_a_segment_and_sees_its_members(
        self, client: TestClient, shop: Settings, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        cleanup.append("web-repeat")
        saved = client.post(
            "/segments",
            data=_form(token, key="web-repeat", name="Repeat <buyers>", description="2+ orders"),
            follow_redirects=False,
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/segments/web-repeat"
        page = client.get("/segments/web-repeat")
        assert page.status_code == 200
        assert "Repeat &lt;buyers&gt;" in page.text and "Repeat <buyers>" not in page.text
        count, sample = _preview(shop, REPEAT_RULE)
        assert f'data-testid="member-count">{count:,}<' in page.text
        assert f">{sample[0]}</a>" in page.text  # members by id, the first page
        listing = client.get("/segments")
        assert 'href="/segments/web-repeat"' in listing.text

    def test_the_members_come_in_pages(
        self, client: TestClient, shop: Settings, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        cleanup.append("web-all")
        everyone = {"field": ["feature.orders"], "op": ["gte"], "value": ["0"]}
        client.post("/segments", data={"csrf_token": token, "key": "web-all", **everyone})
        database = Database(shop.sqlalchemy_url)
        members = database.read(lambda s: service.all_members(s, "web-all"))
        assert len(members) > 60
        first = client.get("/segments/web-all")
        second = client.get("/segments/web-all", params={"offset": 50})
        ids = [unescape(i) for i in re.findall(r'customer-link">([^<]+)<', first.text)]
        more = [unescape(i) for i in re.findall(r'customer-link">([^<]+)<', second.text)]
        assert ids + more == members[: len(ids) + len(more)] and len(ids) == 50
        assert 'data-testid="next-page"' in first.text
        assert client.get("/segments/web-all", params={"offset": -1}).status_code == 422

    def test_the_analyst_is_refused(self, client: TestClient, shop: Settings) -> None:
        token = signed_in(client, ANALYST)
        refused = client.post("/segments", data=_form(token, key="web-analyst"))
        assert refused.status_code == 403
        database = Database(shop.sqlalchemy_url)
        assert database.read(lambda s: service.repository.segment_by_key(s, "web-analyst")) is None

    def test_no_csrf_token_is_refused(self, client: TestClient, shop: Settings) -> None:
        signed_in(client)
        refused = client.post("/segments", data={**REPEAT_ROWS, "key": "web-no-token"})
        assert refused.status_code == 403
        assert "security token" in refused.text
        wrong = client.post("/segments", data=_form("not-the-token", key="web-no-token"))
        assert wrong.status_code == 403
        database = Database(shop.sqlalchemy_url)
        assert database.read(lambda s: service.repository.segment_by_key(s, "web-no-token")) is None

    def test_refusals_from_the_service_show_on_the_form(
        self, client: TestClient, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        bad_key = client.post("/segments", data=_form(token, key="Bad Key!"))
        assert bad_key.status_code == 400
        assert 'data-testid="form-error"' in bad_key.text and "not a valid key" in bad_key.text
        assert 'value="Bad Key!"' in bad_key.text  # what they typed is kept
        bad_rule = client.post("/segments", data=_form(token, key="web-bad", value=["lots"]))
        assert bad_rule.status_code == 400 and "$.all[0].value" in bad_rule.text
        cleanup.append("web-twice")
        client.post("/segments", data=_form(token, key="web-twice"))
        twice = client.post("/segments", data=_form(token, key="web-twice"))
        assert twice.status_code == 409 and "exists already" in twice.text
        too_long = client.post("/segments", data=_form(token, key="x" * 101))
        assert too_long.status_code == 422


class TestSegmentPage:
    def test_the_csv_export_matches_the_members(
        self, client: TestClient, shop: Settings, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        cleanup.append("web-export")
        client.post("/segments", data=_form(token, key="web-export"))
        export = client.get("/segments/web-export/members.csv")
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert 'filename="web-export.csv"' in export.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(export.text)))
        database = Database(shop.sqlalchemy_url)
        members = database.read(lambda s: service.all_members(s, "web-export"))
        assert [r["user_id"] for r in rows] == members and members
        assert {"country", "orders", "revenue"} <= set(rows[0])
        signed_in(client, ANALYST)  # reading is for every operator
        assert client.get("/segments/web-export/members.csv").text == export.text

    def test_a_formula_in_a_cell_is_neutralised(self) -> None:
        from tenure.web.pages.segments import _csv

        text = _csv(["user_id", "x"], [("=cmd|'/C calc'!A0", "+1"), ("@SUM(A1)", -3), ("-2", "ok")])
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[1] == ["'=cmd|'/C calc'!A0", "'+1"]
        assert rows[2] == ["'@SUM(A1)", "-3"]  # numbers are not text: left alone
        assert rows[3] == ["'-2", "ok"]

    def test_refresh_and_delete_are_for_admins_with_the_token(
        self, client: TestClient, shop: Settings, cleanup: list[str]
    ) -> None:
        token = signed_in(client)
        cleanup.append("web-gone")
        client.post("/segments", data=_form(token, key="web-gone"))
        page = client.get("/segments/web-gone")
        assert 'data-testid="refresh-segment"' in page.text
        refreshed = client.post(
            "/segments/web-gone/refresh", data={"csrf_token": token}, follow_redirects=False
        )
        assert refreshed.status_code == 303
        assert client.post("/segments/web-gone/delete").status_code == 403  # no token
        analyst_token = signed_in(client, ANALYST)
        analyst_page = client.get("/segments/web-gone")
        assert analyst_page.status_code == 200
        assert 'data-testid="delete-segment"' not in analyst_page.text
        for action in ("refresh", "delete"):
            answer = client.post(f"/segments/web-gone/{action}", data={"csrf_token": analyst_token})
            assert answer.status_code == 403
        token = signed_in(client)
        deleted = client.post(
            "/segments/web-gone/delete", data={"csrf_token": token}, follow_redirects=False
        )
        assert deleted.status_code == 303 and deleted.headers["location"] == "/segments"
        assert client.get("/segments/web-gone").status_code == 404

    def test_a_refresh_that_fails_says_why(self, client: TestClient, cleanup: list[str]) -> None:
        token = signed_in(client)
        cleanup.append("web-tagged")
        rows = {"field": ["tag"], "op": ["eq"], "value": ["web-no-such-tag"]}
        saved = client.post(
            "/segments",
            data={"csrf_token": token, "key": "web-tagged", **rows},
            follow_redirects=False,
        )
        assert saved.status_code == 303  # saved; its first refresh could not run
        page = client.get("/segments/web-tagged")
        assert "The members are computed at the first refresh." in page.text
        failed = client.post("/segments/web-tagged/refresh", data={"csrf_token": token})
        assert failed.status_code == 400
        assert 'data-testid="form-error"' in failed.text and "unknown tag" in failed.text

    @pytest.mark.parametrize(
        "path",
        [
            "/segments/no-such-segment",
            "/segments/%3Cscript%3E",
            "/segments/no-such-segment/members.csv",
            "/segments/" + "x" * 300,
        ],
    )
    def test_an_unknown_segment_is_a_404_page(self, client: TestClient, path: str) -> None:
        signed_in(client)
        page = client.get(path)
        assert page.status_code == 404
        assert 'data-testid="segment-missing"' in page.text
        assert "<script>" not in page.text.split("<main>")[1]

    def test_an_unknown_segment_for_an_action_is_a_404(self, client: TestClient) -> None:
        token = signed_in(client)
        for action in ("refresh", "delete"):
            answer = client.post(f"/segments/no-such-segment/{action}", data={"csrf_token": token})
            assert answer.status_code == 404
