"""The offers page: each offer's status, redemptions, cost and budget, in both languages; the
numbers are checked against counts taken straight from the redemption rows."""

from __future__ import annotations

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from tenure.config import Settings
from tenure.kit.time import utc_now
from tenure.promotions.coupons import service as coupons
from tenure.promotions.models import PromoRedemption
from tenure.promotions.schemas import OfferIn, ReserveIn
from tenure.promotions.service import offers, reservations
from tenure.storage.database import Database
from tests.web.shop import ANALYST, XSS, signed_in

LINES = [{"sku": "A", "quantity": 1, "unit_price_minor": 5000, "category": "shoes"}]


def _offer_with_uses(shop: Settings, name: str, code: str) -> str:
    """A 10-off coupon with a 50.00 budget: two paid uses, one open checkout, one released."""
    database = Database(shop.sqlalchemy_url)
    now = utc_now()
    body = {
        "name": name,
        "kind": "coupon",
        "benefit": {"type": "amount_off", "amount_minor": 1000},
        "budget_minor": 5000,
    }

    def make(session):  # type: ignore[no-untyped-def]
        offer = offers.create_offer(session, OfferIn.model_validate(body), shop.currency, now)
        coupons.create_shared_code(session, offer.id, code, None, now)
        return offer.id

    offer_id = database.write(make)

    def reserve(key: str, user: str) -> str:
        cart = ReserveIn.model_validate({"user_id": user, "lines": LINES, "codes": [code]})
        return database.write(
            lambda s: reservations.reserve(s, cart, f"{code}-{key}", shop.currency, now).id
        )

    paid = [reserve(str(i), f"{code}-buyer{i}") for i in range(2)]
    reserve("open", f"{code}-open")
    gone = reserve("gone", f"{code}-gone")
    for i, rid in enumerate(paid):
        database.write(lambda s, rid=rid, i=i: reservations.confirm(s, rid, f"{code}-o{i}", now))
    database.write(lambda s: reservations.release(s, gone, now))
    return offer_id


def _row(html: str, offer_id: str) -> list[str]:
    row = html.split(f'data-offer="{offer_id}"')[1].split("</tr>")[0]
    return [cell.split(">", 1)[1] for cell in row.split("<td")[1:]]


def test_an_admin_sees_each_offer_with_its_numbers(client: TestClient, shop: Settings) -> None:
    offer_id = _offer_with_uses(shop, "Ten off", "WEBTEN")
    given = select(func.count(), func.sum(PromoRedemption.value_minor)).where(
        PromoRedemption.offer_id == offer_id, PromoRedemption.status.in_(("used", "refunded"))
    )
    count, cost = Database(shop.sqlalchemy_url).read(lambda s: s.execute(given).one())
    assert (count, cost) == (2, 2000)
    signed_in(client)
    page = client.get("/offers")
    assert page.status_code == 200 and 'data-testid="offer-performance"' in page.text
    cells = _row(page.text, offer_id)
    assert "Ten off" in cells[0] and "coupon" in cells[1] and "active" in cells[2]
    # codes, redemptions, in checkout, given back, cost, budget, budget left
    assert [c.split("<")[0].strip() for c in cells[4:8]] == ["1", str(count), "1", "0"]
    assert cells[8].startswith("$20.00") and cells[9].startswith("$50.00")
    assert cells[10].startswith("$20.00")  # 50 − 2 paid − 1 held, 10 each


def test_an_analyst_reads_it_in_chinese(client: TestClient, shop: Settings) -> None:
    offer_id = _offer_with_uses(shop, "Chinese view", "WEBZH")
    signed_in(client, ANALYST)
    page = client.get("/offers")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "优惠与券" in page.text and "核销数" in page.text and "剩余预算" in page.text
    assert "优惠券" in "".join(_row(page.text, offer_id))


def test_filters_and_bad_input(client: TestClient, shop: Settings) -> None:
    offer_id = _offer_with_uses(shop, "Paused one", "WEBPAUSE")
    Database(shop.sqlalchemy_url).write(lambda s: offers.set_status(s, offer_id, "paused"))
    signed_in(client)
    paused = client.get("/offers?status=paused&kind=coupon")
    assert paused.status_code == 200 and f'data-offer="{offer_id}"' in paused.text
    assert 'value="paused" selected' in paused.text
    automatic = client.get("/offers?status=&kind=automatic")
    assert automatic.status_code == 200 and f'data-offer="{offer_id}"' not in automatic.text
    far = client.get("/offers?offset=100000")
    assert far.status_code == 200 and 'data-testid="no-offers"' in far.text
    for query in ("status=bogus", "kind=<b>", "offset=-1", "offset=99999999999"):
        assert client.get(f"/offers?{query}").status_code == 422, query


def test_offer_names_are_escaped(client: TestClient, shop: Settings) -> None:
    offer_id = _offer_with_uses(shop, XSS, "WEBXSS")
    signed_in(client)
    page = client.get("/offers")
    assert XSS not in page.text and str(escape(XSS)) in "".join(_row(page.text, offer_id))
