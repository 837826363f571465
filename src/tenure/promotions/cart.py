"""Carts as values: lines in minor units, item ranges, and running net amounts while pricing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CartLine:
    """One cart line: `quantity` units of `sku` at `unit_price_minor` each."""

    sku: str
    quantity: int
    unit_price_minor: int
    category: str | None = None

    @property
    def subtotal_minor(self) -> int:
        """Quantity × unit price."""
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class Cart:
    """What the customer is about to buy, in one currency."""

    currency: str
    lines: tuple[CartLine, ...]
    shipping_minor: int = 0

    @property
    def subtotal_minor(self) -> int:
        """Sum of the lines before discounts."""
        return sum(line.subtotal_minor for line in self.lines)


@dataclass(frozen=True)
class ItemRange:
    """The items an offer covers: everything, or some categories/SKUs, minus exclusions."""

    categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()

    def contains(self, line: CartLine) -> bool:
        """Whether the line is in the range."""
        if line.sku in self.exclude_skus or (line.category in self.exclude_categories):
            return False
        if not self.categories and not self.skus:
            return True
        return line.sku in self.skus or (
            line.category is not None and line.category in self.categories
        )


@dataclass(frozen=True)
class Priced:
    """A cart part-way through pricing: each line's net amount and the shipping still charged."""

    cart: Cart
    net: tuple[int, ...]
    shipping_minor: int

    @classmethod
    def start(cls, cart: Cart) -> Priced:
        """The cart before any offer."""
        return cls(
            cart,
            tuple(line.subtotal_minor for line in cart.lines),
            cart.shipping_minor,
        )

    def eligible(self, item_range: ItemRange) -> list[int]:
        """Indices of the lines in the range."""
        return [i for i, line in enumerate(self.cart.lines) if item_range.contains(line)]

    def spend(self, item_range: ItemRange) -> int:
        """Net spend on the range's lines."""
        return sum(self.net[i] for i in self.eligible(item_range))

    def units(self, item_range: ItemRange) -> int:
        """Units of the range's lines."""
        return sum(self.cart.lines[i].quantity for i in self.eligible(item_range))

    def after(self, line_discounts: tuple[int, ...], shipping_off: int) -> Priced:
        """The state once a discount has been taken off."""
        return Priced(
            self.cart,
            tuple(n - d for n, d in zip(self.net, line_discounts, strict=True)),
            self.shipping_minor - shipping_off,
        )
