"""`python -m tenure` and the `tenure` script run the CLI.

Ctrl-C in a terminal reaches every process of the foreground group at any moment, also while
this one still imports the CLI (about a second): then it exits with 130 at once, as a command
stopped by Ctrl-C does, instead of printing a KeyboardInterrupt traceback from some import.
Once the CLI is imported Ctrl-C is a KeyboardInterrupt again, so that a command unwinds (rolls
back, releases its locks) and `friendly` turns it into exit code 130; after the command nothing
is left to stop, so a late Ctrl-C is ignored.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C


def _stop_while_starting(_signum: int, _frame: FrameType | None) -> None:
    os._exit(INTERRUPTED)  # nothing is written yet: no clean-up to do, no traceback to print


def main() -> None:
    """Run the CLI with quiet Ctrl-C while starting and while exiting."""
    # An ignored SIGINT (`nohup`, `cmd &` in a script) stays ignored, as Python itself does.
    handles = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if handles:
        signal.signal(signal.SIGINT, _stop_while_starting)
    from tenure.cli.main import app

    if handles:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app()
    finally:
        if handles:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    main()
