"""Starting a real `tenure serve` process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tenure.config import Settings
    from tenure.storage.database import Database

_PORTS_PER_WORKER = 1000
_next_port = 0


def free_port() -> int:
    """A free local TCP port from this pytest worker's own range.

    Port 0 would draw from the kernel's ephemeral range, which every outgoing connection and every
    other xdist worker draws from too: two workers could be handed the same port, and a test whose
    server failed to bind would then talk to another test's server (seen as a stray 401). Each
    worker gets its own block below the ephemeral range (32768+) instead.
    """
    global _next_port
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 20000 + (int(worker) if worker.isdigit() else 0) % 12 * _PORTS_PER_WORKER
    for _ in range(_PORTS_PER_WORKER):
        port = base + _next_port % _PORTS_PER_WORKER
        _next_port += 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's range")


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


def wait_until_healthy(proc: subprocess.Popen[bytes], url: str, log: Path, seconds: float) -> None:
    """Wait for `/healthz` to answer; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"tenure serve did not start:\n{log.read_text()}")
        time.sleep(0.2)


@contextmanager
def running_server(home: Path, workers: int = 1, **extra: str) -> Iterator[str]:
    """A `tenure serve` process (`workers` processes) on a free port; yields its base URL."""
    port = free_port()
    # A log file, not a pipe: a busy server would block once nobody drained a full pipe.
    log = home / f"serve-{port}.log"
    with log.open("wb") as sink:
        args = ["serve", "--port", str(port), "--workers", str(workers)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "tenure", *args],
            env=tenure_env(home, **extra),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, url, log, 90)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def keyed_server(home: Path, database_url: str, workers: int = 1) -> Iterator[dict[str, Any]]:
    """`tenure serve` on `database_url` (migrated here), with a server key and an admin key."""
    from tenure.apikeys.service import create_key
    from tenure.storage.database import Database

    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        server_key = create_key(session, "shop", ["server"]).secret
        admin_key = create_key(session, "ops", ["admin"]).secret
    env = {"TENURE_DATABASE_URL": database_url, "TENURE_INBOX_FLUSH_SECONDS": "0"}
    with running_server(home, workers, **env) as url:
        yield {
            "url": url,
            "database": database,
            "server": {"authorization": f"Bearer {server_key}"},
            "admin": {"authorization": f"Bearer {admin_key}"},
        }


def together(n: int, call: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Fire `n` requests at once from `n` threads, each with its own connection."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return call(client, i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def keyed_client(settings: Settings, database: Database) -> dict[str, Any]:
    """An in-process TestClient of the app and one key per scope (`h[scope]` headers)."""
    from fastapi.testclient import TestClient

    from tenure.api.app import create_app
    from tenure.apikeys.service import create_key

    with database.session() as session:
        keys = {s: create_key(session, s, [s]).secret for s in ("write", "server", "admin")}
    headers = {s: {"authorization": f"Bearer {k}"} for s, k in keys.items()}
    return {"client": TestClient(create_app(settings)), "h": headers}
