"""`tenure demo`: a taken port is said before any work, the output reads well at 80 columns, the
root URL it prints answers, and the report it writes has every section filled."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tenure.cli.demo import curl_example
from tenure.cli.ports import PortInUse, first_free_port, require_port
from tests.serving import free_port, run_cli, tenure_env, wait_until_healthy


@contextmanager
def occupied() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_is_one_line_before_any_work(home: Path) -> None:
    with occupied() as port:
        result = run_cli(home, "demo", "--users", "200", "--port", str(port), COLUMNS="80")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "(port_in_use)" in lines[0], result.stderr
    assert f"PORT={port + 1}" in lines[0]
    assert not (home / "demo-shop").exists()  # it stopped before simulating


def test_serve_on_a_taken_port_is_one_line(home: Path) -> None:
    with occupied() as port:
        result = run_cli(home, "serve", "--port", str(port))
    assert result.returncode == 1 and "(port_in_use)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_next_free_port_is_found() -> None:
    with occupied() as port:
        with pytest.raises(PortInUse):
            require_port("127.0.0.1", port)
        assert first_free_port("127.0.0.1", port) > port
        with pytest.raises(PortInUse):
            first_free_port("127.0.0.1", port, tries=1)


def test_the_curl_example_fits_80_columns_and_is_one_shell_command() -> None:
    key = "tnr_write_" + "x" * 43  # as long as a real key
    text = curl_example("http://127.0.0.1:65535", key)
    assert all(len(line) <= 80 for line in text.splitlines())
    words = subprocess.run(
        ["bash", "-c", 'printf "%s\\n" ' + text.strip()], capture_output=True, text=True
    ).stdout.splitlines()
    assert words[:3] == ["curl", "-u", f"{key}:"] and words[-1].endswith("/v1/track")
    assert '{"userId":"u1","event":"Product Viewed","properties":{"sku":"A1"}}' in words


def test_the_demo_reads_well_serves_its_root_and_reports_every_section(home: Path) -> None:
    port = free_port()
    log = home / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tenure", "demo", "--users", "600", "--port", str(port)],
            env=tenure_env(home, COLUMNS="80"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, url, log, 240)
        root = httpx.get(f"{url}/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/login?next=/"
        # The printed account signs in to the console, which opens on the simulated shop.
        sign_in = re.search(r"console sign-in: (\S+) / (\S+)", log.read_text())
        assert sign_in is not None
        with httpx.Client(base_url=url) as browser:
            form = {"username": sign_in[1], "password": sign_in[2]}
            assert browser.post("/login", data=form).status_code == 303
            overview = browser.get("/")
            assert overview.status_code == 200 and 'data-testid="kpi-tiles"' in overview.text
        assert httpx.get(f"{url}/docs").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    output = log.read_text()
    lines = output.splitlines()
    assert "Traceback" not in output and "Warning" not in output, output
    # Only lines holding a key, a path or a URL run past 80 columns, unbroken so they copy whole.
    unbreakable = ("tnr_", str(home), "http://")
    assert all(len(line) <= 80 for line in lines if not any(u in line for u in unbreakable))
    assert "" not in lines, output  # no blank lines anywhere
    assert "churn risk for" in output and "CLV for" in output
    report = (home / "report.html").read_text()
    assert "Customers by churn risk" in report and "No churn or CLV scores yet" not in report
