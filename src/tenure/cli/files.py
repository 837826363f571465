"""Reading the files a command is given: a file that cannot be used is one error line naming it.

Every command reads its input files (`--spec`, `--users-file`, a cart, a program document,
segment rules) through these functions, so a missing file, a folder, a file it may not read, a
file that is not UTF-8 text or not the JSON, TOML or YAML it should hold all end the same way:
`error (cli_file_unreadable) Cannot use PATH: REASON.` and exit code 1. Their `Path` parameters
say `readable=False`: typer's own check would answer a file it may not read with a usage box
and exit code 2 before the command runs.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenure.errors import BadRequest
from tenure.i18n import translate
from tenure.kit.documents import json_or_yaml


class FileUnreadable(BadRequest):
    """An input file that does not exist, cannot be read, or does not hold what it should."""

    code = "cli_file_unreadable"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path=str(path), reason=reason)


def unreadable(path: Path, reason: str, **data: Any) -> FileUnreadable:
    """The error for `path`, with a reason from the catalogue (`cli.file.<reason>`)."""
    return FileUnreadable(path, translate(f"cli.file.{reason}", **data))


def read_text(path: Path) -> str:
    """The UTF-8 text of an input file."""
    try:
        return path.read_text("utf-8")
    except OSError as exc:  # missing, a folder, no permission
        raise FileUnreadable(path, exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise unreadable(path, "not_text") from None


def read_json(path: Path) -> Any:
    """A JSON file's value."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise unreadable(path, "not_json", problem=exc.msg, line=exc.lineno) from None


def read_document(path: Path) -> Any:
    """A TOML file (its name ends in .toml) or else a JSON file."""
    if path.suffix.lower() != ".toml":
        return read_json(path)
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise unreadable(path, "not_toml", problem=str(exc)) from None


def read_json_or_yaml(path: Path) -> Any:
    """A JSON or YAML file's value."""
    try:
        return json_or_yaml(read_text(path))
    except ValueError as exc:
        raise unreadable(path, "not_json_or_yaml", problem=str(exc)) from None


def read_object(path: Path, read: Callable[[Path], Any] = read_json) -> dict[str, Any]:
    """A file (read with `read`) that must hold an object (a mapping)."""
    value = read(path)
    if not isinstance(value, dict):
        raise unreadable(path, "not_object")
    return value
