"""Every file a command is given that cannot be used (missing, a folder, unreadable, not UTF-8,
not the JSON, TOML or YAML it should hold) ends in one error line naming it and exit code 1,
never a traceback; and every command goes through `friendly`.

The commands and their file parameters are found by walking the Typer app, so a new command
with a `Path` parameter is covered without touching this file.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tenure.cli.context import friendly, is_friendly
from tenure.cli.main import app

# Path parameters a command writes to; every other Path parameter is a file it reads.
OUTPUTS = {"out", "save_mapping"}
# Text parameters that take a file name (they also take other text: a rule, a glob).
TEXT_FILES = {
    ("segments", "preview"): ("rule", "{}.yaml"),
    ("segments", "create"): ("rule", "@{}.yaml"),
    ("import", "*"): ("files", "{}.csv"),
}


def _commands(command: Any, names: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the app, with the words that call it."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield names, command
        return
    for name, sub in sorted(subcommands.items()):
        yield from _commands(sub, (*names, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _bare(annotation: Any) -> Any:
    """`Path` for `Path | None` and `list[Path]`; the type itself otherwise."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType) and len(args) == 1:
        return _bare(args[0])
    return annotation


def _hints(command: Any) -> dict[str, Any]:
    return {k: _bare(v) for k, v in typing.get_type_hints(command.callback).items()}


@dataclass(frozen=True)
class Case:
    """One command, one of its file parameters, and how the file is named."""

    names: tuple[str, ...]
    param: str
    pattern: str  # `{}` is the file's path without its suffix
    output: bool = False

    def __str__(self) -> str:
        return f"{' '.join(self.names)} {self.param}"

    def argv(self, value: str) -> list[str]:
        """The command line with `value` for the file and a dummy for every other required
        parameter."""
        command = COMMANDS[self.names]
        hints = _hints(command)
        argv = list(self.names)
        for param in command.params:
            if param.name == self.param:
                text = value
            elif param.required:
                text = "1" if hints.get(param.name) in (int, float) else "x"
            else:
                continue
            is_option = param.param_type_name == "option"
            argv += [param.opts[0], text] if is_option else [text]
        return argv


def _cases() -> list[Case]:
    cases = []
    for names, command in COMMANDS.items():
        for name, annotation in _hints(command).items():
            if annotation is Path:
                cases.append(Case(names, name, "{}.json", output=name in OUTPUTS))
        for (group, sub), (param, pattern) in TEXT_FILES.items():
            if names[0] == group and sub in ("*", names[-1]):
                cases.append(Case(names, param, pattern))
    return cases


CASES = _cases()
INPUTS = [c for c in CASES if not c.output]
OUTPUT_CASES = [c for c in CASES if c.output]


def _one_line_naming(result: Any, path: Path | str) -> str:
    """The single error line; it names `path`."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error ("), result.stderr
    assert str(path) in lines[0], (str(path), result.stderr)
    return lines[0]


class TestTheWalk:
    def test_finds_the_file_parameters_the_issue_names(self) -> None:
        found = {str(c) for c in CASES}
        assert {
            "coupons issue users_file",
            "promotions quote cart",
            "loyalty program set path",
            "referrals config set path",
            "segments preview rule",
            "coupons create spec_file",
            "promotions create spec_file",
            "rfm segments",
            "import orders files",
            "import orders mapping_file",
            "import orders save_mapping",
            "retention out",
        } <= found

    def test_every_text_file_parameter_still_exists(self) -> None:
        for (group, sub), (param, _) in TEXT_FILES.items():
            commands = [c for n, c in COMMANDS.items() if n[0] == group and sub in ("*", n[-1])]
            assert commands, (group, sub)
            assert all(param in {p.name for p in c.params} for c in commands), (group, sub)

    def test_every_command_is_wrapped_in_friendly(self) -> None:
        bare = [" ".join(n) for n, c in COMMANDS.items() if not is_friendly(c.callback)]
        assert not bare, f"not wrapped in @friendly: {bare}"


@pytest.mark.parametrize("case", INPUTS, ids=str)
class TestAnInputFile:
    def test_that_does_not_exist_is_one_line_naming_it(
        self, cli: Any, tmp_path: Path, case: Case
    ) -> None:
        path = case.pattern.format(tmp_path / "missing" / case.param)
        line = _one_line_naming(cli(case.argv(path)), path.removeprefix("@"))
        assert "No such file" in line or "No files" in line

    def test_that_is_a_folder_is_one_line_naming_it(
        self, cli: Any, tmp_path: Path, case: Case
    ) -> None:
        path = case.pattern.format(tmp_path / case.param)
        Path(path.removeprefix("@")).mkdir()
        # A folder of CSV files is something to import: an empty one has none.
        _one_line_naming(cli(case.argv(path)), path.removeprefix("@"))

    def test_that_is_not_utf8_is_one_line_naming_it(
        self, cli: Any, tmp_path: Path, case: Case
    ) -> None:
        path = case.pattern.format(tmp_path / case.param)
        Path(path.removeprefix("@")).write_bytes(b"\xff\xfe\x00 \x81")
        _one_line_naming(cli(case.argv(path)), path.removeprefix("@"))

    @pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0,
        reason="root reads a file whatever its permissions",
    )
    def test_that_may_not_be_read_is_one_line_naming_it(
        self, cli: Any, tmp_path: Path, case: Case
    ) -> None:
        path = case.pattern.format(tmp_path / case.param)
        file = Path(path.removeprefix("@"))
        file.write_text("{}")
        file.chmod(0)
        try:
            line = _one_line_naming(cli(case.argv(path)), file)
        finally:
            file.chmod(0o600)
        assert "Permission denied" in line or "No files" in line


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=str)
def test_an_output_file_that_cannot_be_written_is_one_line(
    cli: Any, tmp_path: Path, case: Case
) -> None:
    # Inside a regular file: no folder can be made there. On an empty home most commands stop
    # earlier (no data yet), also in one line; the ones that get to write name the file.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli(case.argv(str(blocker / f"{case.param}.csv")))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    if "(cli_file_error)" in result.stderr or "(cli_os_error)" in result.stderr:
        assert str(blocker) in result.stderr


@pytest.mark.parametrize(
    ("argv", "name", "text", "says"),
    [
        (["loyalty", "program", "set"], "program.json", '{"tiers": ', "not JSON"),
        (["loyalty", "program", "set"], "program.toml", "tiers = ", "not TOML"),
        (["referrals", "config", "set"], "referrals.json", "[1, ", "not JSON"),
        (["referrals", "config", "set"], "referrals.toml", "[referrer", "not TOML"),
        (["promotions", "quote"], "cart.json", "{lines: 1}", "not JSON"),
        (["promotions", "create", "--name", "x", "--spec"], "offer.json", "{", "not JSON"),
        (["coupons", "create", "--name", "x", "--spec"], "offer.json", "[1, 2]", "an object"),
        (["rfm", "--segments"], "rules.yaml", "segments: [a", "neither JSON nor YAML"),
        (["rfm", "--segments"], "rules.yaml", "segments: 3", "a list of rules"),
        (["rfm", "--segments"], "rules.yaml", "- {name: x, r: []}", "segments.0"),
        (["segments", "preview"], "rule.yaml", "all: [a", "neither JSON nor YAML"),
        (["segments", "create", "vip", "--rule"], "@rule.yaml", "all: [a", "nor YAML"),
    ],
    ids=[
        "program-json",
        "program-toml",
        "referrals-json",
        "referrals-toml",
        "cart-json",
        "offer-json",
        "offer-not-an-object",
        "rfm-yaml",
        "rfm-not-a-list",
        "rfm-bad-rule",
        "preview-yaml",
        "create-yaml",
    ],
)
def test_a_file_that_does_not_parse_is_one_line_naming_it(
    cli: Any, tmp_path: Path, argv: list[str], name: str, text: str, says: str
) -> None:
    file = tmp_path / name.removeprefix("@")
    file.write_text(text)
    value = f"@{file}" if name.startswith("@") else str(file)
    line = _one_line_naming(cli([*argv, value]), file)
    assert says in line


class TestFriendly:
    """The last line of defence: an OSError no command turned into a TenureError."""

    @staticmethod
    def _app(error: BaseException) -> typer.Typer:
        small = typer.Typer()

        @small.command()
        @friendly
        def fails() -> None:
            raise error

        return small

    def test_an_oserror_with_a_file_is_one_line_naming_it(self) -> None:
        error = FileNotFoundError(2, "No such file or directory", "/nowhere/x.csv")
        result = CliRunner().invoke(self._app(error), [], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "error (cli_file_error) Cannot use /nowhere/x.csv: No such file or directory."
        )

    def test_an_oserror_without_a_file_is_one_line_with_its_reason(self) -> None:
        error = OSError("Cannot save file into a non-existent directory: '/nowhere'")
        result = CliRunner().invoke(self._app(error), [], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "error (cli_os_error) Cannot save file into a non-existent directory: '/nowhere'."
        )

    def test_a_broken_pipe_is_left_to_click(self) -> None:
        with pytest.raises(BrokenPipeError):
            CliRunner().invoke(self._app(BrokenPipeError()), [], catch_exceptions=False)
