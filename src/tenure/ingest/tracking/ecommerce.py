"""Segment's e-commerce spec events turned into orders, order lines and items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"
PRODUCT_EVENTS = {
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Product Clicked",
    "Product Added to Wishlist",
}
_QUANT = Decimal("0.0001")


def money(value: Any) -> Decimal | None:
    """A decimal amount from a JSON number or string, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(_QUANT)
    except (InvalidOperation, ValueError):
        return None


def _quantity(value: Any) -> int:
    try:
        return int(value) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def _sku(product: dict[str, Any]) -> str | None:
    value = product.get("sku") or product.get("product_id") or product.get("id")
    return str(value) if value not in (None, "") else None


@dataclass
class Commerce:
    """Rows derived from one flush's commerce events."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (order, refund_of)
    cancelled: list[str] = field(default_factory=list)

    def currencies(self) -> dict[str, int]:
        """Paid orders and refunds per currency."""
        counts: dict[str, int] = {}
        for order in [*self.orders, *(order for order, _ in self.refunds)]:
            counts[order["currency"]] = counts.get(order["currency"], 0) + 1
        return counts

    def add(
        self,
        event_id: str,
        name: str,
        user_id: str | None,
        ts: datetime,
        props: dict[str, Any],
        channel: str | None,
        currency: str,
    ) -> None:
        """Derive rows from one track event, if it is a commerce event."""
        products = [p for p in props.get("products") or [] if isinstance(p, dict)]
        if name in PRODUCT_EVENTS:
            products = [props]
        for product in products:
            self._item(product)
        order_id = props.get("order_id")
        if name == ORDER_CANCELLED and order_id:
            self.cancelled.append(str(order_id))
        if name not in (ORDER_COMPLETED, ORDER_REFUNDED) or not order_id:
            return
        sign = 1 if name == ORDER_COMPLETED else -1
        # A refund is its own document so refunded revenue stays visible beside the sale.
        doc_id = str(order_id) if sign == 1 else f"{order_id}:refund:{event_id}"
        lines = [
            line
            for n, p in enumerate(products, start=1)
            if (line := self._line(doc_id, n, p, sign)) is not None
        ]
        amount = money(props.get("total"))
        if amount is None:
            amount = money(props.get("revenue"))
        if amount is None and lines:
            amount = sum((line["line_total"] for line in lines), Decimal(0))
        elif amount is not None:
            amount = sign * abs(amount)
        order = {
            "order_id": doc_id,
            "user_id": user_id,
            "ts": ts,
            "status": "paid" if sign == 1 else "refunded",
            "amount": amount,
            "currency": str(props.get("currency") or currency).upper()[:3],
            "channel": channel,
            "properties": None,
        }
        self.lines.extend(lines)
        if sign == 1:
            self.orders.append(order)
        else:
            self.refunds.append((order, str(order_id)))

    def _line(
        self, order_id: str, line_no: int, product: dict[str, Any], sign: int
    ) -> dict[str, Any] | None:
        price = money(product.get("price"))
        sku = _sku(product)
        if sku is None:
            return None
        quantity = sign * abs(_quantity(product.get("quantity")))
        return {
            "order_id": order_id,
            "line_no": line_no,
            "sku": sku,
            "quantity": quantity,
            "unit_price": price,
            "line_total": (price * quantity).quantize(_QUANT) if price is not None else None,
            "category": product.get("category"),
        }

    def _item(self, product: dict[str, Any]) -> None:
        sku = _sku(product)
        if sku is None:
            return
        self.items.append(
            {
                "sku": sku,
                "name": product.get("name"),
                "category": product.get("category"),
                "price": money(product.get("price")),
            }
        )
