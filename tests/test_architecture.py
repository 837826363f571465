"""The rules of docs/architecture.md that code can check: layers, and one unit of work."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tenure"


def test_imports_follow_the_layers_contract() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _raw_sessions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "session"
            and not node.args
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr in ("write_lock", "_write_lock"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_application_code_reads_and_writes_through_the_unit_of_work() -> None:
    unit_of_work = SRC / "storage" / "database.py"
    offenders = [
        where
        for path in sorted(SRC.rglob("*.py"))
        if path != unit_of_work
        for where in _raw_sessions(path)
    ]
    assert offenders == [], "use Database.read / Database.write instead of a raw session"


ZONE_PARAMETERS = ("zone", "tz", "timezone")
# The edge where people type a zone's name: the CLI passes the text on, and the import mapping
# turns it into a ZoneInfo (an unknown name is a clear error there).
TYPED_ZONE_NAMES = (SRC / "cli" / "imports.py",)


def _is_text(annotation: ast.expr | None) -> bool:
    """Whether an annotation is `str`, `str | None` or `Optional[str]`."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    if isinstance(annotation, ast.Name):
        return annotation.id == "str"
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _is_text(annotation.left) or _is_text(annotation.right)
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name):
        return annotation.value.id == "Optional" and _is_text(annotation.slice)
    return False


def _zones_as_text(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                if arg.arg in ZONE_PARAMETERS and _is_text(arg.annotation):
                    found.append(f"{path.relative_to(ROOT)}:{arg.lineno} {node.name}({arg.arg})")
    return found


def test_time_zones_in_signatures_are_zoneinfo() -> None:
    offenders = [
        where
        for path in sorted(SRC.rglob("*.py"))
        if path not in TYPED_ZONE_NAMES
        for where in _zones_as_text(path)
    ]
    assert offenders == [], "take a zoneinfo.ZoneInfo; use zone.key where SQL needs the name"
