"""--out picks the format from the file's name and writes everything; tables fit the terminal."""

from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from tenure.cli.output import (
    FormatConflict,
    UnknownSuffix,
    fit_table,
    output_format,
)
from tests.serving import run_cli

FUNNEL = ("funnel", "--step", "Product Viewed", "--step", "Order Completed", "--window", "7d")
DROPPED = (*FUNNEL, "--dropped-at", "1")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated shop (400 customers over 180 days), shared by every test here."""
    home = tmp_path_factory.mktemp("fit")
    sim = home / "sim"
    done = run_cli(home, "simulate", "--users", "400", "--days", "180", "--out", str(sim),
                   "--import", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return home


def cli(home: Path, *args: str, width: int = 80) -> tuple[str, str]:
    done = run_cli(home, *args, COLUMNS=str(width))
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout, done.stderr


def fitted(home: Path, *args: str, width: int) -> tuple[str, str]:
    """The command's output at `width` columns: no line wider, no word cut with `…`."""
    out, err = cli(home, *args, width=width)
    assert max(len(line) for line in (out + err).splitlines()) <= width
    assert "…" not in out
    return out, " ".join(err.split())  # the hint as one line, however it wrapped


@pytest.fixture(scope="module")
def dropped(shop: Path) -> list[dict[str, object]]:
    """Who dropped out after step 1, as the JSON format lists them."""
    rows: list[dict[str, object]] = json.loads(cli(shop, *DROPPED, "--format", "json")[0])
    assert len(rows) > 50, "the shop should have more drop-outs than a terminal table shows"
    return rows


def who(row: dict[str, object]) -> str:
    """A dropped-out person: the user id, else the anonymous id."""
    return str(row["user_id"] or row["anonymous_id"])


class TestTheOutNamePicksTheFormat:
    @pytest.mark.parametrize(
        ("name", "read"),
        [
            ("users.csv", pd.read_csv),
            ("users.csv.gz", pd.read_csv),
            ("users.parquet", pd.read_parquet),
            ("users.json", lambda path: pd.DataFrame(json.loads(Path(path).read_text()))),
        ],
    )
    def test_dropped_users_export_has_every_user_in_the_named_format(
        self, shop: Path, dropped: list[dict[str, object]], tmp_path: Path, name: str, read: object
    ) -> None:
        out = tmp_path / name
        cli(shop, *DROPPED, "--out", str(out))
        frame = read(out)  # type: ignore[operator]
        assert list(frame.columns) == list(dropped[0])
        assert len(frame) == len(dropped)
        assert set(frame.user_id.fillna(frame.anonymous_id)) == {who(row) for row in dropped}
        if name.endswith(".gz"):
            with gzip.open(out) as fh:
                assert fh.read(7) == b"user_id"

    def test_a_table_written_to_a_txt_file_has_every_row(
        self, shop: Path, dropped: list[dict[str, object]], tmp_path: Path
    ) -> None:
        out = tmp_path / "users.txt"
        cli(shop, *DROPPED, "--out", str(out))
        text = out.read_text("utf-8")
        assert all(who(row) in text for row in dropped)

    def test_the_terminal_shows_50_users_and_says_how_to_get_all(
        self, shop: Path, dropped: list[dict[str, object]]
    ) -> None:
        out, err = fitted(shop, *DROPPED, width=80)
        assert sum(who(row) in out for row in dropped) == 50
        assert f"Not shown: {len(dropped) - 50:,} of {len(dropped):,} rows" in err
        assert "--format csv|json" in err and "--out FILE.csv" in err

    def test_an_explicit_table_format_against_a_csv_name_is_a_one_line_error(
        self, shop: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "users.csv"
        done = run_cli(shop, *DROPPED, "--format", "table", "--out", str(out))
        assert done.returncode == 1 and not out.exists()
        assert "cli_format_conflict" in done.stderr and "Traceback" not in done.stderr

    @pytest.mark.parametrize(
        "command",
        [("kpis", "--period", "month"), ("retention",), ("cac",), ("paths",), FUNNEL],
        ids=["kpis", "retention", "cac", "paths", "funnel"],
    )
    def test_every_command_writes_csv_for_a_csv_name(
        self, shop: Path, tmp_path: Path, command: tuple[str, ...]
    ) -> None:
        out = tmp_path / "result.csv"
        cli(shop, *command, "--out", str(out))
        assert "━" not in out.read_text("utf-8")
        assert len(pd.read_csv(out)) > 0


class TestOutputFormat:
    def test_the_name_picks_the_format_when_none_is_given(self) -> None:
        names = ["a.csv", "a.CSV.gz", "a.json", "a.parquet", "a.txt"]
        assert [output_format(None, Path(n)) for n in names] == [
            "csv",
            "csv",
            "json",
            "parquet",
            "table",
        ]
        assert output_format(None, None) == "table"

    def test_an_explicit_format_wins_over_a_name_that_says_nothing(self) -> None:
        assert output_format("csv", Path("users.txt")) == "csv"
        assert output_format("json", Path("users")) == "json"

    def test_a_name_without_a_known_extension_needs_a_format(self) -> None:
        with pytest.raises(UnknownSuffix):
            output_format(None, Path("users.dat"))
        assert output_format(None, Path("users.dat"), fallback="csv") == "csv"

    def test_a_format_that_contradicts_the_name_is_refused(self) -> None:
        with pytest.raises(FormatConflict):
            output_format("table", Path("users.csv"))
        with pytest.raises(FormatConflict):
            output_format("csv", Path("users.json"))


class TestFitTable:
    def test_a_too_wide_table_wraps_at_spaces_and_keeps_every_word(self) -> None:
        table = Table("segment", "recency days", "revenue")
        table.add_row("Potential Loyalist", "12.5", "64,333.00")
        table.add_row("About to Sleep", "131.9", "1,234,567.89")
        con = Console(file=StringIO(), width=40)
        assert fit_table(con, table, 40)
        con.print(table)
        text = con.file.getvalue()  # type: ignore[attr-defined]
        assert "…" not in text and "1,234,567.89" in text and "Loyalist" in text
        assert max(len(line) for line in text.splitlines()) <= 40

    def test_a_table_whose_words_cannot_fit_says_so(self) -> None:
        table = Table("a_very_long_header_without_spaces", "another_long_header_here")
        assert not fit_table(Console(file=StringIO()), table, 40)


class TestTablesFitTheTerminal:
    @pytest.mark.parametrize("width", [80, 120])
    def test_kpis_turn_to_show_every_metric_and_period(self, shop: Path, width: int) -> None:
        data = json.loads(cli(shop, "kpis", "--period", "month", "--format", "json")[0])
        out, err = fitted(shop, "kpis", "--period", "month", width=width)
        assert all(s["metric"] in out for s in data["series"])
        assert all(p["period"] in out for p in data["series"][0]["points"])
        assert "--format csv|json" not in err  # turned, nothing cut

    @pytest.mark.parametrize("width", [80, 120])
    @pytest.mark.parametrize("value", [False, True], ids=["rates", "ltv"])
    def test_retention_shows_the_first_periods_and_says_how_many_were_cut(
        self, shop: Path, width: int, value: bool
    ) -> None:
        args = ("retention", "--period", "week", "--periods", "12", *(["--value"] if value else []))
        out, err = fitted(shop, *args, width=width)
        header = next(line for line in out.splitlines() if "┃ cohort" in line).split()
        shown = [cell for cell in header if cell.isdigit()]
        assert shown == [str(n) for n in range(len(shown))] and 0 < len(shown) < 13
        assert f"Not shown: {13 - len(shown)} of 13 week columns" in err
        assert "--format csv|json" in err and "--out FILE.csv" in err

    @pytest.mark.parametrize("width", [80, 120])
    def test_cac_keeps_every_channel_and_column(self, shop: Path, width: int) -> None:
        data = json.loads(cli(shop, "cac", "--format", "json")[0])
        out, _ = fitted(shop, "cac", width=width)
        assert all(row["channel"] in out for row in data["channels"])
        assert all(f"LTV {h['days']}d" in " ".join(out.split()) for h in data["total"]["ltv"])
        assert "payback" in out and "customers" in out

    @pytest.mark.parametrize("width", [80, 120])
    def test_rfm_compare_names_every_segment(self, shop: Path, width: int) -> None:
        args = ("rfm", "--compare", "2024-04-01", "--no-save")
        data = json.loads(cli(shop, *args, "--format", "json")[0])
        out, _ = fitted(shop, *args, width=width)
        words = {w for t in data["transitions"] for w in t["target"].split()}
        assert "Segment moves" in out and all(w in out for w in words)
