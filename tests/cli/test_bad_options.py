"""Option values the commands cannot use (a day that is not a day, a currency code of four
letters) end in one line naming the option, exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CASES = [
    (["rfm", "--as-of", "notaday"], "cli_bad_day", "notaday"),
    (["lifecycle", "--as-of", "2024-02-30"], "cli_bad_day", "2024-02-30"),
    (["retention", "--until", "x"], "cli_bad_day", "--until"),
    (["retention", "--value", "--currency", "EURO"], "cli_invalid_input", "currency"),
    (["kpis", "--currency", "EURO"], "analytics_invalid_query", "currency"),
    (["predict", "clv", "--calibration-end", "1997-13-01"], "cli_bad_day", "--calibration-end"),
    (["simulate", "--start", "bad", "--users", "10"], "cli_bad_day", "--start"),
    (["segments", "transitions", "--since", "soon"], "cli_bad_day", "soon"),
]


@pytest.mark.parametrize(("argv", "code", "names"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_bad_option_value_is_one_line(
    cli: Any, home: Path, argv: list[str], code: str, names: str
) -> None:
    result = cli(argv)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"({code})" in lines[0] and names in lines[0], result.output
