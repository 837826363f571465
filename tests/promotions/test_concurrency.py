"""Concurrency with real parallel HTTP requests against a real `tenure serve` on PostgreSQL:
no code, stock, budget or per-user limit is ever passed."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tenure.apikeys.service import create_key
from tenure.promotions.models import PromoCode, PromoOffer
from tenure.storage.database import Database, get_engine
from tests.serving import running_server


class Shop:
    """A running server and keys for it."""

    def __init__(self, url: str, database: Database) -> None:
        self.url, self.database = url, database
        with database.session() as session:
            self.admin = create_key(session, "admin", ["admin"]).secret
            self.server = create_key(session, "shop", ["server"]).secret

    def admin_post(self, path: str, body: Any) -> Any:
        headers = {"authorization": f"Bearer {self.admin}"}
        response = httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    def offer(self, body: dict[str, Any]) -> str:
        return str(self.admin_post("/v1/promotions/offers", body)["id"])

    def counters(self, offer_id: str) -> tuple[int, int, int]:
        with self.database.session() as session:
            row = session.get(PromoOffer, offer_id)
            assert row is not None
            return row.used_count, row.stock_used, row.spent_minor

    def parallel_reserves(self, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
        """Every body reserved at the same moment, each with its own key and connection."""
        gate = threading.Barrier(len(bodies))
        run = uuid.uuid4().hex[:8]

        def reserve(i: int) -> httpx.Response:
            headers = {"authorization": f"Bearer {self.server}", "Idempotency-Key": f"{run}-{i}"}
            with httpx.Client(timeout=60) as client:
                gate.wait()
                return client.post(
                    f"{self.url}/v1/checkout/reservations", json=bodies[i], headers=headers
                )

        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(reserve, range(len(bodies))))


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    # One schema and one server for the module: starting `tenure serve` costs seconds.
    import psycopg

    from tests import conftest

    problem = conftest._pg_available()
    if problem:
        conftest.unavailable(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    raw = conftest.PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in conftest.PG_URL else "?"
    url = f"{conftest.PG_URL}{sep}options=-csearch_path%3D{schema}"
    yield url
    get_engine(url).dispose()
    with psycopg.connect(raw, autocommit=True) as con:
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """One running server per engine for the module: starting `tenure serve` costs seconds."""
    home: Path = tmp_path_factory.mktemp("home")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'tenure.db'}"
    else:
        url = str(request.getfixturevalue("pg_module_url"))
    database = Database(url)
    database.upgrade()
    with running_server(home, TENURE_DATABASE_URL=url, TENURE_INBOX_FLUSH_SECONDS="0") as base:
        yield Shop(base, database)


def cart(user: str, **extra: Any) -> dict[str, Any]:
    lines = [
        {"sku": "F", "quantity": 1, "unit_price_minor": 5000},
        {"sku": "X", "quantity": 2, "unit_price_minor": 2500},
    ]
    return {"user_id": user, "lines": lines, **extra}


def outcome(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter(
        (r.status_code, r.json().get("code", "ok") if r.status_code != 201 else "ok")
        for r in responses
    )


def test_a_single_use_code_redeemed_by_100_parallel_checkouts_succeeds_once(shop: Shop) -> None:
    coupon = shop.offer(
        {"name": "once", "kind": "coupon", "benefit": {"type": "amount_off", "amount_minor": 1000}}
    )
    code = shop.admin_post(f"/v1/promotions/offers/{coupon}/codes", {"count": 1})["codes"][0]
    responses = shop.parallel_reserves([cart(f"u{i}", codes=[code]) for i in range(100)])
    assert outcome(responses) == Counter({(201, "ok"): 1, (409, "coupon_code_used_up"): 99})
    with shop.database.session() as session:
        assert (
            session.scalars(select(PromoCode.used_count).where(PromoCode.code == code)).one() == 1
        )


def test_a_flash_sale_with_stock_5_and_30_parallel_buyers_sells_exactly_5(shop: Shop) -> None:
    flash = shop.offer(
        {"name": "flash", "kind": "automatic", "items": {"skus": ["F"]}, "stock": 5,
         "benefit": {"type": "sale_price", "price_minor": 1990, "max_units_per_order": 1}}
    )  # fmt: skip
    responses = shop.parallel_reserves([cart(f"b{i}", expect_offers=[flash]) for i in range(30)])
    assert outcome(responses) == Counter({(201, "ok"): 5, (409, "flash_sale_sold_out"): 25})
    assert shop.counters(flash)[1] == 5
    units = [r.json()["quote"]["applied"][0]["units"] for r in responses if r.status_code == 201]
    assert units == [1] * 5
    # Another customer now sees it sold out in the quote.
    quote = httpx.post(
        f"{shop.url}/v1/checkout/quote",
        json=cart("late"),
        headers={"authorization": f"Bearer {shop.server}"},
    )
    reasons = {r["offer_id"]: r["reason"]["code"] for r in quote.json()["rejected"]}
    assert reasons[flash] == "flash_sale_sold_out"


def test_a_budget_is_never_exceeded(shop: Shop) -> None:
    promo = shop.offer(
        {"name": "budgeted", "kind": "automatic", "items": {"skus": ["X"]}, "budget_minor": 10000,
         "benefit": {"type": "amount_off", "amount_minor": 3000}}
    )  # fmt: skip
    responses = shop.parallel_reserves([cart(f"c{i}", expect_offers=[promo]) for i in range(12)])
    assert outcome(responses) == Counter({(201, "ok"): 3, (409, "promotion_budget_exhausted"): 9})
    assert shop.counters(promo) == (3, 0, 9000)


def test_one_customer_racing_their_own_per_user_limit_gets_one_use(shop: Shop) -> None:
    coupon = shop.offer(
        {
            "name": "one each",
            "kind": "coupon",
            "per_user_limit": 1,
            "benefit": {"type": "amount_off", "amount_minor": 700},
        }
    )
    shop.admin_post(f"/v1/promotions/offers/{coupon}/codes", {"code": "ONEEACH"})
    responses = shop.parallel_reserves([cart("same-user", codes=["ONEEACH"]) for _ in range(10)])
    assert outcome(responses) == Counter(
        {(201, "ok"): 1, (409, "coupon_per_user_limit_reached"): 9}
    )
