"""Units, the checks before fitting, the split, and the scores written for segment rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tenure.experiments.uplift import registry
from tenure.experiments.uplift.data import cutoffs, units_from_records, validate_units
from tenure.experiments.uplift.errors import (
    UpliftModelMissing,
    UpliftNoVariance,
    UpliftTooFewUnits,
    UpliftUnitsInvalid,
)
from tenure.experiments.uplift.service import (
    MIN_PER_ARM,
    check_rows,
    segment_rule,
    split,
    uplift_values,
)
from tenure.segments.rules import parse

AT = datetime(2024, 7, 1, 9, tzinfo=UTC)


def _units(**columns: object) -> pd.DataFrame:
    base: dict[str, object] = {"user_id": ["a", "b"], "treated": [True, False], "at": [AT, AT]}
    return pd.DataFrame({**base, **columns})


class TestUnits:
    def test_a_missing_column_is_named(self) -> None:
        with pytest.raises(UpliftUnitsInvalid) as caught:
            validate_units(_units().drop(columns="treated"))
        assert caught.value.code == "uplift_units_invalid"
        assert caught.value.data["column"] == "treated"

    def test_naive_times_are_refused(self) -> None:
        naive = [datetime(2024, 7, 1), datetime(2024, 7, 1)]
        with pytest.raises(UpliftUnitsInvalid) as caught:
            validate_units(_units(at=naive))
        assert caught.value.data["column"] == "at"

    def test_a_treatment_that_is_not_a_boolean_is_refused(self) -> None:
        with pytest.raises(UpliftUnitsInvalid) as caught:
            validate_units(_units(treated=["yes", "no"]))
        assert caught.value.data["column"] == "treated"

    def test_a_user_entered_twice_counts_once_from_the_first_entry(self) -> None:
        later = AT + timedelta(days=3)
        units = validate_units(
            pd.DataFrame({"user_id": ["a", "a"], "treated": [False, True], "at": [later, AT]})
        )
        assert units.to_dict("records") == [{"user_id": "a", "treated": True, "at": AT}]

    def test_text_rows_read_true_false_words_and_iso_times(self) -> None:
        units = units_from_records(
            [
                {"user_id": "a", "treated": "treatment", "at": "2024-07-01T09:00:00Z"},
                {"user_id": "b", "treated": "0", "at": "2024-07-01 09:00"},
            ]
        )
        assert units["treated"].tolist() == [True, False]
        assert units["at"].tolist() == [AT, AT]

    def test_a_bad_text_row_names_its_line(self) -> None:
        rows = [
            {"user_id": "a", "treated": "true", "at": "2024-07-01"},
            {"user_id": "b", "treated": "maybe", "at": "2024-07-01"},
        ]
        with pytest.raises(UpliftUnitsInvalid) as caught:
            units_from_records(rows)
        assert "line 3" in caught.value.data["reason"]

    def test_units_of_one_local_day_share_the_earliest_cutoff(self) -> None:
        units = validate_units(
            pd.DataFrame(
                {
                    "user_id": ["a", "b", "c"],
                    "treated": [True, False, True],
                    "at": [AT, AT + timedelta(hours=5), AT + timedelta(days=1)],
                }
            )
        )
        assert cutoffs(units, ZoneInfo("UTC")).tolist() == [
            AT,
            AT,
            AT + timedelta(days=1),
        ]


class TestChecksBeforeFitting:
    def _frame(
        self, treated: int, control: int, outcome: list[float] | None = None
    ) -> pd.DataFrame:
        n = treated + control
        return pd.DataFrame(
            {
                "user_id": [f"u{i:04d}" for i in range(n)],
                "treated": [True] * treated + [False] * control,
                "orders_after": outcome if outcome is not None else np.arange(n) % 3,
            }
        )

    def test_too_few_control_customers_is_refused_with_the_counts(self) -> None:
        with pytest.raises(UpliftTooFewUnits) as caught:
            check_rows(self._frame(200, MIN_PER_ARM - 1), "orders")
        assert caught.value.code == "uplift_too_few_units"
        assert caught.value.status == 409
        assert caught.value.data == {
            "treated": 200,
            "control": MIN_PER_ARM - 1,
            "minimum": MIN_PER_ARM,
        }

    def test_an_outcome_without_variance_is_refused(self) -> None:
        with pytest.raises(UpliftNoVariance) as caught:
            check_rows(self._frame(100, 100, [0.0] * 200), "orders")
        assert caught.value.code == "uplift_no_outcome_variance"
        assert caught.value.data == {"outcome": "orders"}

    def test_the_split_is_by_user_stratified_and_seeded(self) -> None:
        frame = self._frame(300, 100)
        train, held = split(frame, 0.3, seed=7)
        assert not set(train["user_id"]) & set(held["user_id"])
        assert len(train) + len(held) == 400
        assert held["treated"].sum() == 90 and (~held["treated"]).sum() == 30
        again, _ = split(frame.sample(frac=1, random_state=1), 0.3, seed=7)
        assert again["user_id"].tolist() == train["user_id"].tolist()


class TestScores:
    def test_rank_one_is_the_largest_uplift_and_percentile_is_rank_over_customers(self) -> None:
        values = uplift_values([0.1, 0.5, -0.2, 0.5], ["d", "c", "b", "a"])
        assert values.loc[["a", "b", "c", "d"], "rank"].tolist() == [1, 4, 2, 3]
        assert values.loc[["a", "b", "c", "d"], "percentile"].tolist() == [0.25, 1.0, 0.5, 0.75]

    def test_the_top_share_rule_is_a_valid_segment_rule(self) -> None:
        rule = segment_rule(0.3)
        assert rule == {"field": "score.uplift.percentile", "op": "lte", "value": 0.3}
        parse(rule)

    def test_scoring_without_a_model_is_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(UpliftModelMissing) as caught:
            registry.load(tmp_path)
        assert (caught.value.code, caught.value.status) == ("uplift_model_missing", 404)
