"""`tenure coupons …` and `tenure promotions …` as separate processes, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serving import run_cli


def _ok(home: Path, *args: str, **env: str) -> str:
    result = run_cli(home, *args, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_an_operator_sets_up_a_ladder_and_a_coupon_and_prices_a_cart(
    home: Path, tmp_path: Path
) -> None:
    ladder = json.loads(
        _ok(
            home,
            "promotions",
            "create",
            "--name",
            "满300减40",
            "--ladder",
            "200:20,300:40",
            "--json",
        )
    )
    assert ladder["benefit"]["steps"] == [
        {"threshold_minor": 20000, "amount_off_minor": 2000},
        {"threshold_minor": 30000, "amount_off_minor": 4000},
    ]
    coupon = json.loads(
        _ok(home, "coupons", "create", "--name", "12.5% off shoes", "--percent-off", "12.5", "--cap", "30.00",
            "--category", "shoes", "--per-user-limit", "1", "--json")
    )  # fmt: skip
    assert (coupon["benefit"]["bps"], coupon["benefit"]["cap_minor"], coupon["kind"]) == (
        1250,
        3000,
        "coupon",
    )
    codes_file = tmp_path / "codes.txt"
    _ok(
        home,
        "coupons",
        "codes",
        coupon["id"],
        "--count",
        "3",
        "--prefix",
        "VIP",
        "--out",
        str(codes_file),
    )
    codes = codes_file.read_text().split()
    assert len(codes) == 3 and all(c.startswith("VIP") for c in codes)

    cart = tmp_path / "cart.json"
    cart.write_text(json.dumps({
        "user_id": "u1", "codes": [codes[0]],
        "lines": [{"sku": "S1", "quantity": 1, "unit_price_minor": 16000, "category": "shoes"},
                  {"sku": "T1", "quantity": 1, "unit_price_minor": 6000, "category": "tees"}],
    }))  # fmt: skip
    raw = _ok(home, "promotions", "quote", str(cart))
    assert "满300减40" in raw and "\\u" not in raw  # readable UTF-8, not escapes
    quote = json.loads(raw)
    # 220.00 reaches the 200 rung (20.00 off); 12.5 % of the shoes' 160.00 less their share of
    # the 20.00 (145.45) is 18.18; the next rung is 80.00 away.
    assert [a["discount_minor"] for a in quote["applied"]] == [2000, 1818]
    assert quote["total_minor"] == 22000 - 2000 - 1818
    assert [u["message"] for u in quote["upsells"]] == ["Spend 80.00 USD more for 40.00 USD off"]

    listed = json.loads(_ok(home, "coupons", "list", "--json"))
    assert [c["id"] for c in listed] == [coupon["id"]]
    _ok(home, "promotions", "pause", ladder["id"])
    assert json.loads(_ok(home, "promotions", "list", "--json"))[0]["status"] == "paused"


def test_wallet_issue_and_expiry_sweep(home: Path) -> None:
    coupon = json.loads(
        _ok(home, "coupons", "create", "--name", "welcome", "--amount-off", "5", "--ends", "2027-01-01", "--json",
            TENURE_TIMEZONE="Asia/Shanghai")
    )  # fmt: skip
    # Midnight on 1 January in Shanghai is 16:00 UTC the day before.
    assert coupon["ends_at"] == "2026-12-31T16:00:00Z"
    _ok(home, "coupons", "issue", coupon["id"], "--user", "alice", "--user", "bob")
    wallet = json.loads(_ok(home, "coupons", "wallet", "alice"))
    assert [(w["offer_id"], w["description"]) for w in wallet] == [(coupon["id"], "5.00 USD off")]
    assert "Released 0 expired" in _ok(home, "coupons", "release-expired")


def test_errors_are_one_line_without_a_traceback(home: Path) -> None:
    result = run_cli(home, "coupons", "codes", "off_missing", "--count", "1")
    assert result.returncode == 1
    assert "offer_not_found" in result.stderr and "Traceback" not in result.stderr
    bad = run_cli(home, "promotions", "create", "--name", "nothing")
    assert bad.returncode == 1 and "invalid_offer" in bad.stderr


def test_an_operator_refunds_a_paid_reservation_in_part_then_in_full(home: Path) -> None:
    from tenure.config import Settings
    from tenure.promotions.service import reservations
    from tenure.storage.database import Database

    from .builders import NOW, reserve_body, stored

    database = Database(Settings(home=home).sqlalchemy_url)
    database.upgrade()
    with database.session() as session:
        stored(session, benefit={"type": "points", "points": 200})
    with database.session() as session:
        held = reservations.reserve(session, reserve_body(), "k1", "USD", NOW).id
    with database.session() as session:
        reservations.confirm(session, held, "order-1", NOW)

    needs_id = run_cli(home, "promotions", "refund", held, "--amount", "25")
    assert needs_id.returncode != 0 and "--refund-id" in needs_id.stderr
    part = json.loads(
        _ok(home, "promotions", "refund", held, "--refund-id", "r1", "--amount", "25.00")
    )
    assert (part["status"], part["refunded_minor"]) == ("confirmed", 2500)
    again = json.loads(
        _ok(home, "promotions", "refund", held, "--refund-id", "r1", "--amount", "25.00")
    )
    assert again["refunded_minor"] == 2500  # a retry changes nothing
    rest = json.loads(_ok(home, "promotions", "refund", held))
    assert (rest["status"], rest["refunded_minor"]) == ("refunded", 10_000)
    shown = json.loads(_ok(home, "promotions", "reservation", held))
    assert shown["refunds"][0]["refund_id"] == "r1" and len(shown["refunds"]) == 2
    missing = run_cli(home, "promotions", "refund", "res_missing")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_offers_default_to_the_currency_of_the_shop_s_orders(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENURE_CURRENCY", raising=False)
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,user_id,ts,amount\no1,a,2024-01-05T10:00:00Z,12.50\n")
    _ok(home, "import", "orders", str(orders), "--currency", "GBP")
    args = ("promotions", "create", "--name", "x", "--amount-off", "5", "--json")
    # TENURE_CURRENCY unset: the currency the orders are in, not its default (USD).
    offer = json.loads(_ok(home, *args))
    assert (offer["currency"], offer["benefit"]["amount_minor"]) == ("GBP", 500)
    # Set explicitly, it wins.
    assert json.loads(_ok(home, *args, TENURE_CURRENCY="EUR"))["currency"] == "EUR"
    coupon = json.loads(
        _ok(home, "coupons", "create", "--name", "y", "--amount-off", "5", "--json")
    )
    assert coupon["currency"] == "GBP"
