"""The customers pages: search, the RFM grid and the 360 page, escaped and in both languages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.loyalty.service import award_points
from tenure.promotions.coupons.service import issue_one
from tenure.promotions.schemas import OfferIn
from tenure.promotions.service.offers import create_offer
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.web.shop import ANALYST, XSS, signed_in

ODD = "ünï/cødé?#&x=1 ok"  # no "%": the test client decodes a path twice
EVIL_NAME = '"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def odd_users(shop: Settings) -> None:
    """The shop's hostile customer (id and name `XSS`) gets points and a coupon whose offer name
    is markup; one more customer has a slash in the id and markup in the name."""
    rows = pa.table(
        {
            "user_id": [ODD],
            "signup_at": [datetime(2024, 3, 1, tzinfo=UTC)],
            "country": ["FR"],
            "attributes": [
                json.dumps({"email": "=cmd|' /C calc'!A0@evil.example", "name": EVIL_NAME})
            ],
        }
    )
    with Warehouse(shop).writer() as writer:
        writer.upsert("users", rows)
    database = Database(shop.sqlalchemy_url)

    def operational(session):  # type: ignore[no-untyped-def]
        offer = create_offer(
            session,
            OfferIn.model_validate(
                {
                    "kind": "coupon",
                    "name": "<b>Ten off</b>",
                    "benefit": {"type": "amount_off", "amount_minor": 1000},
                }
            ),
            "USD",
            utc_now(),
        )
        award_points(session, XSS, 120, "welcome", "console-test-xss")
        return issue_one(session, offer.id, XSS, utc_now())

    database.write(operational)


def _customer_with_scores(shop: Settings) -> str:
    """A simulated customer who ordered (so has churn and CLV scores)."""
    with Warehouse(shop).reader() as con:
        scores = con.table("scores")
        churn = scores.filter(scores.model == "churn").order_by("user_id").limit(1).execute()
    return str(churn.user_id.iloc[0])


class TestSearch:
    def test_the_page_lists_customers_and_pages_through_them(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get("/customers")
        assert page.status_code == 200
        assert 'data-testid="customer-search"' in page.text
        assert page.text.count('data-testid="customer-link"') == 50
        assert 'data-testid="next-page"' in page.text
        second = client.get("/customers", params={"offset": 50})
        assert second.status_code == 200 and 'data-testid="previous-page"' in second.text
        first_ids = re.findall(r'href="/customers/([^"]+)"', page.text)
        second_ids = re.findall(r'href="/customers/([^"]+)"', second.text)
        assert not set(first_ids) & set(second_ids)

    def test_a_search_finds_by_id_fragment(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get("/customers", params={"q": "u00001"})
        assert page.status_code == 200
        ids = re.findall(r'data-testid="customer-link">([^<]+)<', page.text)
        assert ids and all("u00001" in i for i in ids)
        assert ids[0] == "u000010"  # prefix matches, by id

    def test_a_search_finds_by_email_and_escapes_what_it_shows(
        self, client: TestClient, odd_users: None
    ) -> None:
        signed_in(client)
        page = client.get("/customers", params={"q": "x@example.com"})
        assert page.status_code == 200
        assert XSS not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert f'href="/customers/{quote(XSS, safe="")}"' in page.text
        odd = client.get("/customers", params={"q": "evil.example"})
        assert f'href="/customers/{quote(ODD, safe="")}"' in odd.text
        assert EVIL_NAME not in odd.text and "&#34;&gt;&lt;img src=x" in odd.text

    def test_no_match_and_bad_input(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get("/customers", params={"q": "<nobody-at-all>"})
        assert page.status_code == 200 and "&lt;nobody-at-all&gt;" in page.text
        assert "<nobody-at-all>" not in page.text
        assert client.get("/customers", params={"offset": -1}).status_code == 422
        assert client.get("/customers", params={"q": "x" * 201}).status_code == 422
        assert client.get("/customers", params={"part": "nope"}).status_code == 422

    def test_the_rfm_grid_loads_as_a_fragment(self, client: TestClient) -> None:
        signed_in(client)
        page = client.get("/customers")
        assert 'hx-get="/customers?part=rfm"' in page.text
        fragment = client.get("/customers", params={"part": "rfm"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert 'data-testid="rfm-grid"' in fragment.text
        assert 'data-testid="rfm-segments"' in fragment.text
        assert "Champions" in fragment.text and "R5" in fragment.text and "F1" in fragment.text

    def test_an_analyst_reads_it_in_chinese(self, client: TestClient) -> None:
        signed_in(client, ANALYST)
        page = client.get("/customers")
        assert page.status_code == 200 and "查找客户" in page.text
        fragment = client.get("/customers", params={"part": "rfm"})
        assert "最近购买 × 购买频次" in fragment.text

    def test_signed_out_goes_to_the_sign_in_page(self, client: TestClient) -> None:
        page = client.get("/customers", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def _href(user_id: str) -> str:
    return "/customers/" + quote(user_id, safe="")


class TestCustomer360:
    def test_a_scored_customer_shows_everything(self, client: TestClient, shop: Settings) -> None:
        signed_in(client)
        user = _customer_with_scores(shop)
        page = client.get(_href(user))
        assert page.status_code == 200
        for part in (
            "customer-loyalty",
            "customer-referrals",
            "customer-segments",
            "customer-contact",
            "customer-messages",
        ):
            assert f'data-testid="{part}"' in page.text, part
        # What the warehouse knows loads as a fragment.
        assert f'hx-get="{_href(user)}?part=profile"' in page.text
        fragment = client.get(_href(user), params={"part": "profile"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        for part in (
            "customer-tiles",
            "customer-profile",
            "customer-features",
            "customer-scores",
            "customer-drivers",
            "customer-timeline",
        ):
            assert f'data-testid="{part}"' in fragment.text, part
        assert "Churn probability" in fragment.text and "Customer lifetime value" in fragment.text
        assert "Order " in fragment.text  # the timeline holds their orders

    def test_the_analyst_reads_the_360_in_chinese(self, client: TestClient, shop: Settings) -> None:
        signed_in(client, ANALYST)
        user = _customer_with_scores(shop)
        page = client.get(_href(user))
        assert page.status_code == 200 and "积分余额" in page.text
        fragment = client.get(_href(user), params={"part": "profile"})
        assert "流失概率" in fragment.text and "时间线" in fragment.text

    def test_a_script_user_id_is_escaped_everywhere(
        self, client: TestClient, odd_users: None
    ) -> None:
        signed_in(client)
        escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
        page = client.get(_href(XSS))
        assert page.status_code == 200
        assert XSS not in page.text and "<b>Ten off" not in page.text
        assert escaped in page.text
        assert "&lt;b&gt;Ten off&lt;/b&gt;" in page.text  # the coupon they hold
        points = re.search(
            r"<td>([^<]+)</td>", page.text.split('data-testid="customer-loyalty"')[1]
        )
        assert points is not None and points.group(1) == "120"
        assert f'hx-get="{_href(XSS)}?part=profile"' in page.text
        fragment = client.get(_href(XSS), params={"part": "profile"})
        assert fragment.status_code == 200
        assert XSS not in fragment.text and escaped in fragment.text  # their name
        # The id's slash is part of the id, not of the path.
        also = client.get("/customers/" + XSS)
        assert also.status_code == 200 and escaped in also.text

    def test_an_id_with_slashes_and_unicode(self, client: TestClient, odd_users: None) -> None:
        signed_in(client)
        page = client.get(_href(ODD))
        assert page.status_code == 200
        assert f'hx-get="{_href(ODD)}?part=profile"' in page.text
        fragment = client.get(_href(ODD), params={"part": "profile"})
        assert fragment.status_code == 200 and "evil.example" in fragment.text
        assert EVIL_NAME not in fragment.text
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in fragment.text

    @pytest.mark.parametrize(
        "path",
        [
            "/customers/nobody-at-all",
            _href("<i>nobody</i>"),
            _href("bad\x00id"),
            "/customers/" + "x" * 300,
            "/customers/",
        ],
    )
    def test_an_unknown_user_is_a_404_page(self, client: TestClient, path: str) -> None:
        signed_in(client)
        page = client.get(path)
        assert page.status_code == 404
        assert 'data-testid="customer-missing"' in page.text
        assert "Customer not found" in page.text
        assert "<i>nobody</i>" not in page.text
        fragment = client.get(path, params={"part": "profile"})
        assert fragment.status_code == 404 and "<html" not in fragment.text
        assert 'data-testid="customer-missing"' in fragment.text

    def test_an_unknown_user_in_chinese(self, client: TestClient) -> None:
        signed_in(client, ANALYST)
        page = client.get("/customers/nobody-at-all")
        assert page.status_code == 404 and "未找到客户" in page.text


def test_rfm_segment_names_read_in_the_operator_s_language(client: TestClient) -> None:
    signed_in(client, ANALYST)
    part = client.get("/customers", params={"part": "rfm"})
    assert part.status_code == 200 and "核心客户" in part.text
    assert "value=Champions" in part.text  # the builder link keeps the rule's value
