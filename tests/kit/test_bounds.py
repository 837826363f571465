"""The request bounds agree with the columns they guard, and refuse what PostgreSQL would."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import String

from tenure.kit import bounds
from tenure.migrations.models import import_all_models
from tenure.storage.database import Base

# Columns a request value lands in, by the bound that guards them.
GUARDED = {
    "user_id": bounds.USER_ID_LENGTH,
    "invitee_id": bounds.USER_ID_LENGTH,
    "referrer_id": bounds.USER_ID_LENGTH,
    "leader_id": bounds.USER_ID_LENGTH,
    "order_id": bounds.EXTERNAL_ID_LENGTH,
    "refund_id": bounds.EXTERNAL_ID_LENGTH,
    "hold_ref": bounds.EXTERNAL_ID_LENGTH,
    "sku": bounds.EXTERNAL_ID_LENGTH,
}


def _string_columns() -> list[tuple[str, str, int]]:
    import_all_models()
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length is not None:
                found.append((table.name, column.name, column.type.length))
    return found


class TestColumns:
    def test_every_guarded_column_holds_at_least_its_bound(self) -> None:
        checked = 0
        for table, column, length in _string_columns():
            if column in GUARDED:
                assert length >= GUARDED[column], f"{table}.{column} is String({length})"
                checked += 1
        assert checked > 20

    @pytest.mark.parametrize(
        ("table", "column", "bound"),
        [
            ("promo_codes", "code", bounds.COUPON_CODE_LENGTH),
            ("segments", "key", bounds.SEGMENT_KEY_LENGTH),
            ("tags", "key", bounds.SEGMENT_KEY_LENGTH),
            ("loyalty_rewards", "code", bounds.PROGRAM_KEY_LENGTH),
            ("loyalty_task_completions", "task", bounds.PROGRAM_KEY_LENGTH),
            ("loyalty_memberships", "plan", bounds.PROGRAM_KEY_LENGTH),
            ("loyalty_accounts", "tier", bounds.TIER_CODE_LENGTH),
            ("referral_codes", "code", bounds.PUBLIC_ID_LENGTH),
            ("promo_offers", "id", bounds.PUBLIC_ID_LENGTH),
            ("group_buys", "id", bounds.PUBLIC_ID_LENGTH),
        ],
    )
    def test_a_named_bound_is_its_column_length(self, table: str, column: str, bound: int) -> None:
        lengths = {(t, c): n for t, c, n in _string_columns()}
        assert lengths[(table, column)] == bound


class TestTypes:
    @pytest.mark.parametrize("value", ["a\x00b", "a\nb", "a\x7fb", "\ud800", ""])
    def test_an_id_refuses_control_characters_lone_surrogates_and_emptiness(
        self, value: str
    ) -> None:
        with pytest.raises(ValidationError):
            TypeAdapter(bounds.UserId).validate_python(value)

    def test_an_id_takes_any_other_unicode_up_to_its_length(self) -> None:
        adapter = TypeAdapter(bounds.UserId)
        assert adapter.validate_python("用户 é 42") == "用户 é 42"
        assert adapter.validate_python("u" * 200) == "u" * 200
        with pytest.raises(ValidationError):
            adapter.validate_python("u" * 201)

    def test_text_keeps_tabs_and_newlines_but_not_nul(self) -> None:
        adapter = TypeAdapter(bounds.Text)
        assert adapter.validate_python("a\tb\r\nc") == "a\tb\r\nc"
        with pytest.raises(ValidationError):
            adapter.validate_python("a\x00b")

    @pytest.mark.parametrize(
        ("kind", "top"),
        [(bounds.Int32, 2**31 - 1), (bounds.Int64, 2**53 - 1), (bounds.Offset, 2**31 - 1)],
    )
    def test_integers_stop_at_their_column(self, kind: object, top: int) -> None:
        adapter: TypeAdapter[int] = TypeAdapter(kind)
        assert adapter.validate_python(top) == top
        with pytest.raises(ValidationError):
            adapter.validate_python(top + 1)

    def test_the_ledger_bounds_leave_room_inside_int64(self) -> None:
        assert bounds.POINTS_MAX <= bounds.BALANCE_MAX
        assert bounds.BALANCE_MAX * 9000 < bounds.INT64_MAX
        assert bounds.MONEY_MAX * 9000 < bounds.INT64_MAX

    @pytest.mark.parametrize(
        "value", ["0001-01-01T00:00:00+10:00", "9999-12-31T23:59:59-10:00", "1899-12-31T00:00Z"]
    )
    def test_an_instant_stays_where_date_arithmetic_works(self, value: str) -> None:
        with pytest.raises(ValidationError, match="datetime_out_of_range"):
            TypeAdapter(bounds.Instant).validate_python(value)
