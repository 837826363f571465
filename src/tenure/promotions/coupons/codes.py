"""Coupon code text: normalisation and random generation without look-alike characters."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: codes are read aloud and typed from receipts.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10  # 31^10 ≈ 8e14: guessing a live code from a million issued takes ~4e8 tries


def normalize(code: str) -> str:
    """How a code is stored and matched: trimmed, upper case."""
    return code.strip().upper()


def random_codes(count: int, prefix: str = "", length: int = LENGTH) -> list[str]:
    """`count` distinct random codes, each `prefix` + `length` characters."""
    head = normalize(prefix)
    made: set[str] = set()
    while len(made) < count:
        made.add(head + "".join(secrets.choice(ALPHABET) for _ in range(length)))
    return sorted(made)
