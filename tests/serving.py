"""Starting a real `tenure serve` process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tenure_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a tenure subprocess on `home`."""
    env = {**os.environ, "TENURE_HOME": str(home), **extra}
    env.pop("TENURE_WAREHOUSE", None)
    return env


def run_cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `tenure ARGS` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "tenure", *args],
        env=tenure_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def running_server(home: Path, **extra: str) -> Iterator[str]:
    """A `tenure serve` process on a free port; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenure", "serve", "--port", str(port)],
        env=tenure_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"tenure serve did not start:\n{out}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
