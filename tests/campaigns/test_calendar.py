"""The zh-CN shop calendar seed, 2025–2030."""

from collections import Counter
from datetime import date

from tenure.campaigns.calendar import Holiday, holidays_on, seed_holidays

YEARS = range(2025, 2031)

FIXED = {
    "new_year": (1, 1),
    "valentines": (2, 14),
    "womens_day": (3, 8),
    "may_20": (5, 20),
    "mid_year_sale": (6, 18),
    "national_day": (10, 1),
    "singles_day": (11, 11),
    "double_12": (12, 12),
    "christmas": (12, 25),
}

# Lunar 1/1, 7/7 and 8/15, checked with lunardate (HKO tables), lunar-python, holidays.China and
# an astronomical computation (ephem: new moons and solar terms in Beijing time); all agreed.
LUNAR = {
    "spring_festival": [
        date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6),
        date(2028, 1, 26), date(2029, 2, 13), date(2030, 2, 3),
    ],
    "qixi": [
        date(2025, 8, 29), date(2026, 8, 19), date(2027, 8, 8),
        date(2028, 8, 26), date(2029, 8, 16), date(2030, 8, 5),
    ],
    "mid_autumn": [
        date(2025, 10, 6), date(2026, 9, 25), date(2027, 9, 15),
        date(2028, 10, 3), date(2029, 9, 22), date(2030, 9, 12),
    ],
}  # fmt: skip

NAMES_ZH = {
    "new_year": "元旦", "spring_festival": "春节", "valentines": "情人节",
    "womens_day": "三八女神节", "may_20": "520", "mid_year_sale": "618", "qixi": "七夕",
    "mid_autumn": "中秋", "national_day": "国庆", "singles_day": "双11", "double_12": "双12",
    "christmas": "圣诞",
}  # fmt: skip


def days_of(key: str) -> list[date]:
    return sorted(h.day for h in seed_holidays() if h.key == key)


class TestSeedCalendar:
    def test_every_key_has_one_date_in_each_year(self) -> None:
        holidays = seed_holidays()
        assert {h.key for h in holidays} == set(NAMES_ZH)
        for key in NAMES_ZH:
            assert [d.year for d in days_of(key)] == list(YEARS), key

    def test_no_key_appears_twice_in_a_year(self) -> None:
        counts = Counter((h.key, h.day.year) for h in seed_holidays())
        assert max(counts.values()) == 1
        assert len(counts) == len(NAMES_ZH) * len(YEARS)

    def test_fixed_days_fall_on_their_date(self) -> None:
        for key, (month, day) in FIXED.items():
            assert days_of(key) == [date(year, month, day) for year in YEARS], key

    def test_lunar_days_equal_the_verified_table(self) -> None:
        for key, expected in LUNAR.items():
            assert days_of(key) == expected, key

    def test_names_in_english_and_chinese(self) -> None:
        for holiday in seed_holidays():
            assert holiday.name_zh == NAMES_ZH[holiday.key]
            assert holiday.name_en and holiday.name_en.isascii()
        spring = holidays_on(date(2026, 2, 17), seed_holidays())
        assert spring == [Holiday("spring_festival", date(2026, 2, 17), "Spring Festival", "春节")]

    def test_seed_is_sorted_by_day_and_a_fresh_list_each_time(self) -> None:
        holidays = seed_holidays()
        assert holidays == sorted(holidays, key=lambda h: (h.day, h.key))
        holidays.clear()
        assert len(seed_holidays()) == len(NAMES_ZH) * len(YEARS)


class TestHolidaysOn:
    def test_days_with_and_without_a_holiday(self) -> None:
        seed = seed_holidays()
        assert [h.key for h in holidays_on(date(2027, 11, 11), seed)] == ["singles_day"]
        assert [h.key for h in holidays_on(date(2025, 8, 29), seed)] == ["qixi"]
        assert holidays_on(date(2026, 7, 1), seed) == []

    def test_every_holiday_on_a_shared_day_is_returned(self) -> None:
        day = date(2026, 3, 8)
        own = Holiday("spring_sale", day, "Spring Sale", "春季大促")
        found = holidays_on(day, [*seed_holidays(), own])
        assert [h.key for h in found] == ["womens_day", "spring_sale"]
