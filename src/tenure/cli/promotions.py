"""`tenure promotions …` and `tenure coupons …`: offers, codes, wallets and expired holds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.cli.context import console, emit_json, friendly, services, shop_currency
from tenure.cli.files import read_json, read_object, read_text
from tenure.i18n import translate
from tenure.kit.money import Money
from tenure.kit.time import utc_now
from tenure.promotions import views
from tenure.promotions.coupons import service as coupons_service
from tenure.promotions.errors import InvalidOffer
from tenure.promotions.jobs import release_expired_holds
from tenure.promotions.schemas import CheckoutIn, OfferIn, OfferOut, ReservationOut
from tenure.promotions.service import offers, pricing, reservations

promotions_app = typer.Typer(
    help="Automatic promotions: 满减 ladders, gifts, flash sales, first-order perks."
)
coupons_app = typer.Typer(help="Coupon templates, unique and shared codes, wallet coupons.")


def _minor(amount: str | None, currency: str) -> int | None:
    return None if amount is None else Money.of(amount, currency).minor


def _spec(kind: str, currency: str, o: dict[str, Any]) -> dict[str, Any]:
    """An offer definition from command-line flags (amounts in major units: "20.00")."""
    benefit: dict[str, Any] | None = None
    if o["amount_off"]:
        benefit = {"type": "amount_off", "amount_minor": _minor(o["amount_off"], currency)}
    elif o["percent_off"]:
        bps = int(Decimal(o["percent_off"]) * 100)
        benefit = {"type": "percent_off", "bps": bps, "cap_minor": _minor(o["cap"], currency)}
    elif o["ladder"]:
        steps = [part.split(":") for part in o["ladder"].split(",")]
        benefit = {
            "type": "ladder",
            "steps": [
                {"threshold_minor": _minor(t, currency), "amount_off_minor": _minor(a, currency)}
                for t, a in steps
            ],
        }
    elif o["sale_price"]:
        benefit = {"type": "sale_price", "price_minor": _minor(o["sale_price"], currency)}
    elif o["gift"]:
        sku, value = o["gift"].rsplit(":", 1)
        benefit = {"type": "gift", "sku": sku, "value_minor": _minor(value, currency)}
    elif o["free_shipping"]:
        benefit = {"type": "free_shipping"}
    elif o["points"]:
        benefit = {"type": "points", "points": o["points"]}
    if benefit is None:
        raise InvalidOffer(
            reason="give a benefit (--amount-off, --percent-off, --ladder, …) or --spec"
        )
    conditions: list[dict[str, Any]] = []
    if o["min_spend"]:
        conditions.append({"type": "min_spend", "amount_minor": _minor(o["min_spend"], currency)})
    if o["first_order"]:
        conditions.append({"type": "first_order"})
    if o["new_user"]:
        conditions.append({"type": "new_user"})
    if o["tier"]:
        conditions.append({"type": "tier", "tiers": o["tier"]})
    if o["segment"]:
        conditions.append({"type": "segment", "segments": o["segment"]})
    return {
        "name": o["name"],
        "kind": kind,
        "benefit": benefit,
        "conditions": conditions,
        "items": {"categories": o["category"], "skus": o["sku"]},
        "currency": currency,
        "starts_at": o["starts"],
        "ends_at": o["ends"],
        "per_user_limit": o["per_user_limit"],
        "total_limit": o["total_limit"],
        "budget_minor": _minor(o["budget"], currency),
        "stock": o["stock"],
        "exclusive": o["exclusive"],
        "group": o["group"],
        "priority": o["priority"],
    }


def _create(kind: str, spec_file: Path | None, as_json: bool, flags: dict[str, Any]) -> None:
    spec = read_object(spec_file) if spec_file else None
    svc = services()
    currency = (flags.pop("currency") or shop_currency(svc)).upper()
    for key in ("starts", "ends"):
        # A bare date or time is the shop's calendar: midnight in its time zone, not UTC's.
        when = flags[key]
        if when is not None:
            flags[key] = (
                when if when.tzinfo else when.replace(tzinfo=svc.settings.zone)
            ).isoformat()
    raw = spec if spec is not None else _spec(kind, currency, flags)
    raw.setdefault("kind", kind)
    try:
        data = OfferIn.model_validate({k: v for k, v in raw.items() if v not in (None, [])})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidOffer(reason=f"{where}: {first.get('msg')}") from None
    out = svc.database.write(
        lambda s: views.offer_out(offers.create_offer(s, data, currency, utc_now()))
    )
    if as_json:
        emit_json(out.model_dump(mode="json"))
    else:
        console.print(translate("cli.promotions.created", kind=out.kind, id=out.id, name=out.name))


def _create_command(kind: str) -> Any:
    @friendly
    def create(
        name: str = typer.Option(..., "--name", help="What operators and customers see."),
        spec_file: Path | None = typer.Option(
            None, "--spec", readable=False, help="A JSON offer (as POST /v1/promotions/offers)."
        ),
        amount_off: str | None = typer.Option(None, help="Fixed amount off, e.g. 20.00."),
        percent_off: str | None = typer.Option(None, help="Percent off, e.g. 15 or 12.5."),
        cap: str | None = typer.Option(None, help="Cap on a percent discount, e.g. 50.00."),
        ladder: str | None = typer.Option(None, help="满减 tiers: '100:10,200:30' (spend:save)."),
        sale_price: str | None = typer.Option(None, help="Flash-sale unit price, e.g. 9.90."),
        gift: str | None = typer.Option(None, help="Gift with purchase: SKU:VALUE."),
        free_shipping: bool = typer.Option(False, help="Free shipping."),
        points: int | None = typer.Option(None, help="Bonus points after the order."),
        min_spend: str | None = typer.Option(None, help="Minimum spend on eligible items."),
        first_order: bool = typer.Option(False, help="First order only."),
        new_user: bool = typer.Option(False, help="New customers only."),
        tier: list[str] = typer.Option([], help="Loyalty tier(s) allowed."),
        segment: list[str] = typer.Option([], help="Segment(s) allowed."),
        category: list[str] = typer.Option([], help="Only items of these categories."),
        sku: list[str] = typer.Option([], help="Only these SKUs."),
        starts: datetime | None = typer.Option(
            None, help="Start, in the shop's time zone unless an offset is given."
        ),
        ends: datetime | None = typer.Option(
            None, help="End, in the shop's time zone unless an offset is given."
        ),
        per_user_limit: int | None = typer.Option(None, help="Uses per customer."),
        total_limit: int | None = typer.Option(None, help="Uses in total."),
        budget: str | None = typer.Option(None, help="Money budget, e.g. 5000.00."),
        stock: int | None = typer.Option(
            None, help="Units at the sale price (flash sale) or gifts."
        ),
        exclusive: bool = typer.Option(False, help="Never combined with other offers."),
        group: str | None = typer.Option(None, help="At most one offer per group applies."),
        priority: int | None = typer.Option(None, help="Higher applies first."),
        currency: str | None = typer.Option(None, help="Defaults to the shop's currency."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        flags = dict(locals())
        for key in ("spec_file", "as_json"):
            flags.pop(key)
        _create(kind, spec_file, as_json, flags)

    create.__doc__ = f"Create a {'coupon template' if kind == 'coupon' else 'automatic promotion'}."
    return create


promotions_app.command("create")(_create_command("automatic"))
coupons_app.command("create")(_create_command("coupon"))


def _list(kind: str, status: str | None, as_json: bool) -> None:
    svc = services()

    def work(session: Session) -> list[OfferOut]:
        found = offers.list_offers(session, status, kind)
        used = offers.usage(session, found)
        return [views.offer_out(r, used[r.id]) for r in found]

    rows = svc.database.read(work)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "name", "status", "benefit", "used", "spent", "stock", "ends")
    for r in rows:
        limit = f"/{r.total_limit}" if r.total_limit else ""
        budget = f"/{Money(r.budget_minor, r.currency)}" if r.budget_minor else ""
        stock = f"{r.stock_used}/{r.stock}" if r.stock else ""
        table.add_row(
            r.id, r.name, r.status, r.benefit["type"], f"{r.used_count}{limit}",
            f"{Money(r.spent_minor, r.currency)}{budget}", stock, str(r.ends_at or ""),
        )  # fmt: skip
    console.print(table)


@promotions_app.command("list")
@friendly
def list_promotions(
    status: str | None = typer.Option(None, help="active, paused or archived."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Automatic promotions with usage, budget and stock."""
    _list("automatic", status, as_json)


@coupons_app.command("list")
@friendly
def list_coupons(
    status: str | None = typer.Option(None, help="active, paused or archived."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Coupon templates with usage and budget."""
    _list("coupon", status, as_json)


def _set_status(offer_id: str, status: str) -> None:
    svc = services()
    svc.database.write(lambda s: offers.set_status(s, offer_id, status))
    console.print(translate("cli.promotions.status", id=offer_id, status=status))


for _app in (promotions_app, coupons_app):
    for _verb, _status in (("pause", "paused"), ("resume", "active"), ("archive", "archived")):

        def _command(offer_id: str, _s: str = _status) -> None:
            _set_status(offer_id, _s)

        _command.__doc__ = f"Set an offer {_status}."
        _app.command(_verb)(friendly(_command))


@promotions_app.command("show")
@friendly
def show(offer_id: str) -> None:
    """One offer as JSON, with its counters."""
    svc = services()

    def work(session: Session) -> OfferOut:
        row = offers.get_offer(session, offer_id)
        return views.offer_out(row, offers.usage(session, [row])[row.id])

    emit_json(svc.database.read(work).model_dump(mode="json"))


@promotions_app.command("quote")
@friendly
def quote(
    cart: Path = typer.Argument(
        ..., readable=False, help="A cart JSON file (as POST /v1/checkout/quote)."
    ),
) -> None:
    """Price a cart: the best combination, reasons for the rest, upsell hints."""
    try:
        body = CheckoutIn.model_validate(read_json(cart))
    except ValidationError as exc:
        raise InvalidOffer(reason=str(exc.errors()[0].get("msg"))) from None
    svc = services()
    out = svc.database.read(
        lambda s: views.quote_out(pricing.quote(s, body, svc.settings.currency, utc_now()))
    )
    emit_json(out.model_dump(mode="json"))


@coupons_app.command("codes")
@friendly
def codes(
    offer_id: str,
    count: int | None = typer.Option(None, help="How many unique single-use codes."),
    prefix: str = typer.Option("", help="Prefix for generated codes."),
    shared: str | None = typer.Option(None, help="Make this one shared code instead."),
    max_uses: int | None = typer.Option(None, help="Total uses of the shared code."),
    out: Path | None = typer.Option(None, "--out", help="Write the codes here, one a line."),
) -> None:
    """Make codes for a coupon template."""
    svc = services()

    def work(session: Session) -> coupons_service.IssuedCodes:
        if shared:
            return coupons_service.create_shared_code(
                session, offer_id, shared, max_uses, utc_now()
            )
        return coupons_service.create_unique_codes(session, offer_id, count or 1, prefix, utc_now())

    issued = svc.database.write(work)
    text = "\n".join(issued.codes) + "\n"
    if out:
        out.write_text(text, "utf-8")
        console.print(
            translate(
                "cli.coupons.codes", count=len(issued.codes), offer_id=offer_id, batch=issued.batch
            )
        )
    else:
        typer.echo(text, nl=False)


@coupons_app.command("issue")
@friendly
def issue(
    offer_id: str,
    user: list[str] = typer.Option([], "--user", help="A customer's id (repeatable)."),
    users_file: Path | None = typer.Option(
        None, readable=False, help="A file of user ids, one a line."
    ),
) -> None:
    """Put a single-use coupon into each customer's wallet."""
    users = list(user)
    if users_file:
        users += [line.strip() for line in read_text(users_file).splitlines() if line.strip()]
    if not users:
        raise InvalidOffer(reason="give --user or --users-file")
    svc = services()
    issued = svc.database.write(
        lambda s: coupons_service.issue_to_wallets(s, offer_id, users, utc_now())
    )
    console.print(
        translate(
            "cli.coupons.issued", count=len(issued.codes), offer_id=offer_id, batch=issued.batch
        )
    )


@coupons_app.command("wallet")
@friendly
def wallet(user_id: str) -> None:
    """A customer's usable wallet coupons as JSON."""
    svc = services()
    out = svc.database.read(
        lambda s: [views.wallet_out(e) for e in coupons_service.wallet_of(s, user_id, utc_now())]
    )
    emit_json([e.model_dump(mode="json") for e in out])


@coupons_app.command("release-expired")
@friendly
def release_expired() -> None:
    """Give back the uses, stock and budget of reservations whose hold ran out."""
    svc = services()
    count = release_expired_holds(svc.database, utc_now())["released"]
    console.print(translate("cli.coupons.released", count=count))


@coupons_app.command("show")
@friendly
def show_code(code: str) -> None:
    """One code as JSON: its template, owner, uses and status."""
    svc = services()
    out = svc.database.read(lambda s: views.code_out(coupons_service.get_code(s, code)))
    emit_json(out.model_dump(mode="json"))


@coupons_app.command("disable")
@friendly
def disable_code(code: str) -> None:
    """Disable a leaked or mistaken code; holds already made keep it."""
    svc = services()
    found = svc.database.write(lambda s: coupons_service.set_code_status(s, code, "disabled"))
    console.print(translate("cli.coupons.disabled", code=found.code))


@promotions_app.command("reservation")
@friendly
def show_reservation(reservation_id: str) -> None:
    """One checkout reservation as JSON: its quote, status and refunds."""
    svc = services()

    def work(session: Session) -> ReservationOut:
        row = reservations.get(session, reservation_id)
        return views.reservation_out(row, reservations.refunds_of(session, row.id))

    emit_json(svc.database.read(work).model_dump(mode="json"))


@promotions_app.command("refund")
@friendly
def refund(
    reservation_id: str,
    refund_id: str | None = typer.Option(
        None, "--refund-id", help="The shop's id of a partial refund; a retry changes nothing."
    ),
    amount: str | None = typer.Option(
        None, "--amount", help="Refunded amount (e.g. 12.50); needs --refund-id. Default: the rest."
    ),
) -> None:
    """Refund a paid order's reservation: points benefits back, coupons back when in full."""
    svc = services()
    if amount is not None and refund_id is None:
        raise typer.BadParameter(translate("cli.promotions.refund_needs_id"), param_hint="--amount")
    minor = _minor(amount, svc.settings.currency)

    def work(session: Session) -> ReservationOut:
        row = reservations.refund(session, reservation_id, utc_now(), refund_id, minor)
        return views.reservation_out(row, reservations.refunds_of(session, row.id))

    out = svc.database.write(work)
    emit_json(out.model_dump(mode="json"))
