"""Why an item is on a list: a code, and what it points at (an item, a category, a country)."""

from __future__ import annotations

from enum import IntEnum


class Reason(IntEnum):
    """Stored as one byte per listed item."""

    FOR_YOU = 0  # matrix factorisation: customers with similar baskets bought it
    SIMILAR_TO = 1  # close to an item of the user's history (the anchor)
    BOUGHT_TOGETHER = 2  # bought in the same orders as the anchor item
    VIEWED_TOGETHER = 3  # viewed or bought close in time with the anchor item
    POPULAR = 4
    POPULAR_IN_COUNTRY = 5
    POPULAR_IN_CATEGORY = 6
    TRENDING = 7
    STARTER = 8  # what new customers buy first

    @property
    def key(self) -> str:
        return self.name.lower()
