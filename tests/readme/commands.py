"""Run every fenced shell block of README.md, in order, as a new user would on a fresh machine.

Each block runs in its own `bash -e -o pipefail` in one fresh working folder (so the default
`./tenure-data` home starts empty, and files one block writes are there for the next), with
`../shared` beside it as in a checkout and `tenure` on the PATH. A block preceded by
`<!-- readme: skip: REASON -->` is listed but not run (e.g. `make demo`, which serves until
Ctrl-C and has its own test). Usage: `python -m tests.readme.commands [README.md]`; the exit code
is the number of failed blocks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_BLOCK = re.compile(
    r"(?:<!-- readme: (?P<directive>[^\n]*?) -->\n)?^```(?:bash|sh|shell)\n(?P<body>.*?)^```",
    re.M | re.S,
)
BLOCK_SECONDS = 900


@dataclass(frozen=True)
class Block:
    """One fenced shell block: where it starts, what it runs, and why it is skipped (if so)."""

    line: int
    body: str
    skip: str | None


@dataclass(frozen=True)
class Outcome:
    """How one block ran."""

    block: Block
    returncode: int
    seconds: float
    output: str


def blocks(text: str) -> list[Block]:
    """The shell blocks of a Markdown text, with their skip directives."""
    found = []
    for match in SHELL_BLOCK.finditer(text):
        directive = (match.group("directive") or "").strip()
        skip = directive.removeprefix("skip:").strip() if directive.startswith("skip") else None
        line = text.count("\n", 0, match.start("body"))
        found.append(Block(line, match.group("body"), skip))
    return found


def environment(shared: Path) -> dict[str, str]:
    """A user's shell: no TENURE_* settings of ours, `tenure` of this checkout on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"
    env["TENURE_DATA_DIR"] = str(shared / "data")
    return env


def run(readme: Path, shared: Path, workdir: Path) -> list[Outcome]:
    """Run the blocks of `readme` in `workdir` (fresh), with `shared` linked beside it."""
    (workdir / "work").mkdir(parents=True)
    (workdir / "shared").symlink_to(shared)
    env = environment(workdir / "shared")
    outcomes = []
    for block in blocks(readme.read_text("utf-8")):
        if block.skip is not None:
            continue
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.body],
            cwd=workdir / "work",
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_SECONDS,
        )
        took = time.monotonic() - started
        outcomes.append(Outcome(block, done.returncode, took, done.stdout + done.stderr))
    return outcomes


def main(argv: list[str]) -> int:
    readme = Path(argv[0]) if argv else ROOT / "README.md"
    shared = Path(os.environ.get("TENURE_SHARED_DIR", ROOT.parent / "shared")).resolve()
    with tempfile.TemporaryDirectory(prefix="tenure-readme-") as tmp:
        outcomes = run(readme, shared, Path(tmp))
    for o in outcomes:
        state = "ok" if o.returncode == 0 else f"FAILED (exit {o.returncode})"
        print(f"{readme.name}:{o.block.line + 1}: {state} in {o.seconds:.1f} s")
        if o.returncode:
            print("\n".join("    " + line for line in o.output.splitlines()[-30:]))
    return sum(1 for o in outcomes if o.returncode)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
