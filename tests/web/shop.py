"""A small simulated shop for the console tests: imported, scored, with two operators."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from tenure.config import Settings

ADMIN, ANALYST, PASSWORD = "ada", "alan", "correct horse battery"
XSS = "<script>alert(1)</script>"


def build_shop(home: Path, database_url: str | None = None) -> Settings:
    """Simulate, import and score a 400-customer shop under `home`, and create the operators."""
    from tenure.cli.simulate import import_simulation
    from tenure.kit.time import utc_now
    from tenure.operators.service import create_operator
    from tenure.predict.service import retrain_churn, score_clv
    from tenure.simulate import SimulationConfig, simulate_shop
    from tenure.storage.database import Database
    from tenure.storage.warehouse import Warehouse

    # Tests write and then read: never an answer from before the write.
    settings = Settings(
        home=home, database_url=database_url, inbox_flush_seconds=0, console_stale_seconds=0
    )
    warehouse = Warehouse(settings)
    out = home / "sim"
    simulate_shop(SimulationConfig(users=400, seed=11, start=date(2024, 1, 1), days=240), out)
    import_simulation(out, settings, warehouse)
    retrain_churn(settings, warehouse)
    score_clv(warehouse, settings.zone)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()
    _hostile_customer(settings, database, warehouse)
    database.write(
        lambda s: (
            create_operator(s, ADMIN, PASSWORD, "admin", utc_now()),
            create_operator(s, ANALYST, PASSWORD, "analyst", utc_now(), locale="zh-CN"),
        )
    )
    return settings


def _hostile_customer(settings: Settings, database: object, warehouse: object) -> None:
    """A customer whose id, name and viewed product are markup: every page must show it as text."""
    from tenure.ingest.tracking.flush import flush_inbox
    from tenure.ingest.tracking.service import store_own_events

    when = "2024-08-20T10:00:00Z"
    messages = [
        {
            "type": "identify",
            "userId": XSS,
            "traits": {"name": XSS, "email": "x@example.com"},
            "messageId": "xss-identify",
            "timestamp": when,
        },
        {
            "type": "track",
            "userId": XSS,
            "event": "Product Viewed",
            "properties": {"name": XSS, "sku": XSS, "category": XSS},
            "messageId": "xss-view",
            "timestamp": when,
        },
    ]
    database.write(lambda s: store_own_events(s, messages))  # type: ignore[attr-defined]
    flush_inbox(settings, database, warehouse)  # type: ignore[arg-type]


def held_referral(shop: Settings, invitee: str | None = None) -> str:
    """A referral the abuse rules held: the invitee signed up on the referrer's device, paid a
    first order, and the return window closed. Its id."""
    import uuid
    from datetime import timedelta

    from tenure.kit.time import utc_now
    from tenure.referrals import config, jobs, repository, service
    from tenure.storage.database import Database

    database = Database(shop.sqlalchemy_url)
    tag = uuid.uuid4().hex[:8]
    referrer, invitee = f"ref-{tag}", invitee or f"inv-{tag}"
    device = f"device-{tag}"
    paid = utc_now() - timedelta(days=30)

    def work(session):  # type: ignore[no-untyped-def]
        _, program = config.current_program(session)
        code = service.code_for(session, referrer, paid, device=device).code
        service.attribute(session, program, code, invitee, paid, device=device)
        service.record_order(
            session, program, shop.currency, f"order-{tag}", invitee, paid, 5000, shop.currency,
            paid,
        )  # fmt: skip

    database.write(work)
    jobs.run_due(database, shop.zone, utc_now())
    found = database.read(lambda s: repository.of_invitee(s, invitee))
    assert found is not None and found.status == "held"
    return found.id


def signed_in(client: TestClient, username: str = ADMIN) -> str:
    """Sign `client` in; returns the page's CSRF token."""
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/")
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
