"""Money in minor units and largest-remainder splitting."""

from decimal import Decimal

import pytest

from tenure.kit.money import Money, apply_bps, split


class TestMoney:
    def test_major_amount_is_rounded_half_even_to_the_currency_precision(self) -> None:
        assert Money.of("12.345", "CNY") == Money(1234, "CNY")
        assert Money.of("12.355", "cny") == Money(1236, "CNY")
        assert Money.of("1500", "JPY") == Money(1500, "JPY")
        assert Money(1234, "CNY").amount == Decimal("12.34")
        assert str(Money(5, "USD")) == "0.05 USD"

    def test_adding_two_currencies_is_refused(self) -> None:
        with pytest.raises(ValueError, match="currency mismatch"):
            Money(1, "CNY") + Money(1, "USD")


class TestSplit:
    def test_parts_sum_exactly_and_follow_the_weights(self) -> None:
        assert split(1000, [1, 1, 1]) == [334, 333, 333]
        assert split(-1000, [1, 1, 1]) == [-334, -333, -333]
        assert split(999, [5000, 3000, 2000]) == [499, 300, 200]
        for total in range(0, 500, 7):
            assert sum(split(total, [3, 7, 11, 13])) == total

    def test_basis_points(self) -> None:
        assert apply_bps(1999, 1000) == 200
        assert apply_bps(25, 1000) == 2  # 2.5 rounds to even
