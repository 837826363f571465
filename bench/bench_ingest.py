"""Tracking through `tenure serve`: batch throughput, single-event latency, exact counts."""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import queue
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_app
from benchlib import BENCH, free_port, table, tenure_exe, warn_if_busy, write_results

TARGET_EVENTS_PER_S = 20_000
EVENTS = ("Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Cart Viewed")
CATEGORIES = ("Kitchen", "Garden", "Stationery", "Lighting", "Textiles")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- messages -------------------------------------------------------------------------------------


def message(run: str, stream: str, seq: int) -> dict[str, Any]:
    """One ~300-byte Segment track message with a unique messageId."""
    n = hash((stream, seq)) & 0xFFFFFF
    sku = f"SKU-{n % 4000:05d}"
    return {
        "type": "track",
        "messageId": f"{run}-{stream}-{seq}",
        "userId": f"user-{n % 50_000}",
        "event": EVENTS[seq % len(EVENTS)],
        "properties": {
            "sku": sku,
            "name": f"Enamel mug {n % 97}",
            "category": CATEGORIES[n % len(CATEGORIES)],
            "price": round(2 + (n % 900) / 10, 2),
        },
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "context": {"library": {"name": "bench", "version": "1.0"}, "page": {"path": f"/p/{sku}"}},
    }


def batch_body(run: str, stream: str, start: int, size: int) -> bytes:
    """A /v1/batch body of `size` messages."""
    batch = [message(run, stream, seq) for seq in range(start, start + size)]
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json.dumps({"batch": batch, "sentAt": sent_at}, separators=(",", ":")).encode()


# --- the server -----------------------------------------------------------------------------------


@dataclass
class Server:
    """An HTTP server child (`tenure serve`, or the peer app) on a fresh home."""

    home: Path
    port: int
    env: dict[str, str]
    command: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run a `tenure` command against this home and return its stdout."""
        done = subprocess.run(
            [tenure_exe(), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"tenure {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        """Start the command and wait for /healthz."""
        log_path = self.home / f"server-{self.port}.log"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.command[:3]} exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.command[:3]} did not answer /healthz within 90 s")

    def stop(self) -> float:
        """SIGINT (graceful: the lifespan runs a last flush); returns seconds to exit."""
        assert self.proc is not None
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.perf_counter() - started

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn workers when --workers > 1)."""
        assert self.proc is not None
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(fields[1])
        found = [self.proc.pid]
        for pid in found:
            found.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server's processes so far."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM), summed over the server's processes."""
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += sum(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")
            )
        return total / 1024

    def inbox_waiting(self) -> int:
        """Messages in the SQLite inbox, read directly (cheap, no lock on the warehouse)."""
        con = sqlite3.connect(f"file:{self.home / 'tenure.db'}?mode=ro", uri=True, timeout=30)
        try:
            row = con.execute("SELECT coalesce(sum(count), 0) FROM tracking_batches").fetchone()
            return int(row[0])
        finally:
            con.close()

    def status(self) -> dict[str, int]:
        """`tenure status --json`."""
        return json.loads(self.cli("status", "--json"))


def _own_cpu() -> float:
    """CPU seconds of this (client) process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def auth_header(secret: str) -> dict[str, str]:
    """Segment's basic auth: the write key as user name, empty password."""
    token = base64.b64encode(f"{secret}:".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


# --- a) batch throughput --------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts shared by the client threads."""

    accepted: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _batch_client(
    server: Server,
    headers: dict[str, str],
    run: str,
    stream: str,
    size: int,
    until: float,
    tally: Tally,
) -> None:
    """Post batches back to back until the deadline."""
    seq = 0
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        while time.monotonic() < until:
            body = batch_body(run, stream, seq, size)
            seq += size
            started = time.perf_counter()
            try:
                response = client.post("/v1/batch", content=body)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.errors.append(repr(exc)[:200])
                continue
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.requests += 1
                tally.latencies.append(elapsed)
                if response.status_code == 200:
                    tally.accepted += int(response.json().get("accepted", size))
                else:
                    tally.errors.append(f"{response.status_code}: {response.text[:200]}")


def throughput(
    server: Server, secret: str, clients: int, size: int, seconds: float
) -> dict[str, Any]:
    """Threads post /v1/batch for `seconds`; events/s accepted (a 200 means durable)."""
    run, headers, tally = uuid.uuid4().hex[:8], auth_header(secret), Tally()
    cpu_before, client_before = server.cpu_seconds(), _own_cpu()
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=_batch_client,
            args=(server, headers, run, f"b{i}", size, started + seconds, tally),
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    client_cpu = _own_cpu() - client_before
    server_cpu = server.cpu_seconds() - cpu_before
    lat = np.array(tally.latencies) * 1000
    return {
        "clients": clients,
        "batch_size": size,
        "seconds": round(wall, 2),
        "requests": tally.requests,
        "events_accepted": tally.accepted,
        "events_per_s": round(tally.accepted / wall),
        "batch_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
        "batch_p99_ms": round(float(np.percentile(lat, 99)), 1) if lat.size else None,
        "server_cpu_s": round(server_cpu, 2),
        "events_per_server_cpu_s": round(tally.accepted / server_cpu) if server_cpu else None,
        "client_cpu_s": round(client_cpu, 2),
        "errors": len(tally.errors),
        "error_sample": tally.errors[:5],
    }


def drain(server: Server, timeout: float) -> float | None:
    """Seconds until the background flusher has emptied the inbox; None past `timeout`."""
    started = time.perf_counter()
    while server.inbox_waiting():
        if time.perf_counter() - started > timeout:
            return None
        time.sleep(0.1)
    return round(time.perf_counter() - started, 2)


# --- b) open-loop single-event latency ------------------------------------------------------------


def _open_loop(
    server: Server, headers: dict[str, str], rate: float, seconds: float, workers: int
) -> dict[str, Any]:
    """Issue one /v1/track every 1/rate s on a fixed schedule; latency counts from the schedule."""
    run, total = uuid.uuid4().hex[:8], int(rate * seconds)
    due_queue: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
    results: list[tuple[float, float, int]] = []  # (from schedule, from send, status)

    def worker() -> None:
        con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        while (job := due_queue.get()) is not None:
            seq, due = job
            body = json.dumps(message(run, "t", seq), separators=(",", ":")).encode()
            sent = time.perf_counter()
            try:
                con.request("POST", "/v1/track", body=body, headers=headers)
                response = con.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                con.close()
                con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                status = 0
            done = time.perf_counter()
            results.append((done - due, done - sent, status))
        con.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    lags: list[float] = []
    start = time.perf_counter() + 0.05
    for seq in range(total):
        due = start + seq / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        lags.append(time.perf_counter() - due)
        due_queue.put((seq, due))
    issued = time.perf_counter() - start
    for _ in threads:
        due_queue.put(None)
    for thread in threads:
        thread.join()
    finished = time.perf_counter() - start
    ok = [r for r in results if r[2] == 200]
    sched = np.array([r[0] for r in ok]) * 1000
    service = np.array([r[1] for r in ok]) * 1000
    pct = {f"p{p}_ms": round(float(np.percentile(sched, p)), 2) for p in (50, 95, 99)}
    return {
        "target_rate": rate,
        "seconds": seconds,
        "client_threads": workers,
        "requests": total,
        "ok": len(ok),
        "errors": total - len(ok),
        "issue_rate": round(total / issued, 1),
        "achieved_rate": round(len(ok) / finished, 1),
        **pct,
        "max_ms": round(float(sched.max()), 2),
        "mean_ms": round(float(sched.mean()), 2),
        "service_p50_ms": round(float(np.percentile(service, 50)), 2),
        "service_p99_ms": round(float(np.percentile(service, 99)), 2),
        "schedule_lag_max_ms": round(max(lags) * 1000, 2),
    }


def latency(
    server: Server, secret: str, rate: float, seconds: float, workers: int
) -> dict[str, Any]:
    """Open-loop single /v1/track calls at `rate` per second from a pool of client threads."""
    cpu_before, client_before = server.cpu_seconds(), _own_cpu()
    result = _open_loop(server, auth_header(secret), rate, seconds, workers)
    result["server_cpu_s"] = round(server.cpu_seconds() - cpu_before, 2)
    result["client_cpu_s"] = round(_own_cpu() - client_before, 2)
    return result


# --- c) the official Segment client ---------------------------------------------------------------


def segment_client(server: Server, secret: str, events: int) -> dict[str, Any]:
    """`segment.analytics.Client` with its defaults (100 per batch), as fast as it will go."""
    from segment.analytics import Client

    failures: list[str] = []
    client = Client(
        secret,
        host=server.url,
        max_queue_size=events + 1,
        on_error=lambda exc, batch: failures.append(f"{exc!r}"[:200] + f" ({len(batch)})"),
    )
    run = uuid.uuid4().hex[:8]
    messages = [message(run, "s", seq) for seq in range(events)]
    started = time.perf_counter()
    for m in messages:
        client.track(
            user_id=m["userId"],
            event=m["event"],
            properties=m["properties"],
            context=m["context"],
            timestamp=datetime.fromisoformat(m["timestamp"]),
            message_id=m["messageId"],
        )
    client.flush()
    seconds = time.perf_counter() - started
    client.join()
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "failed_batches": len(failures),
        "error_sample": failures[:3],
    }


# --- the peer: raw SQLite -------------------------------------------------------------------------


def _rows(body: bytes) -> list[tuple[Any, ...]]:
    """What a minimal endpoint does per batch: parse JSON, keep the columns and a payload."""
    return peer_app.rows(json.loads(body)["batch"])


def sqlite_peer(folder: Path, size: int, events: int) -> dict[str, Any]:
    """Same messages into an inbox table with executemany, one fsynced commit per batch."""
    con = peer_app.connect(str(folder / "peer-inprocess.db"))
    run = uuid.uuid4().hex[:8]
    bodies = [batch_body(run, "p", start, size) for start in range(0, events, size)]
    parsed = [_rows(body) for body in bodies]

    def insert(batches: Iterator[list[tuple[Any, ...]]]) -> float:
        started = time.perf_counter()
        for rows in batches:
            con.execute("BEGIN")
            con.executemany(peer_app.INSERT, rows)
            con.execute("COMMIT")
        return time.perf_counter() - started

    raw_s = insert(iter(parsed))
    con.execute("DELETE FROM tracking_inbox")
    parse_s = insert(_rows(body) for body in bodies)
    count = con.execute("SELECT count(*) FROM tracking_inbox").fetchone()[0]
    con.close()
    return {
        "events": events,
        "executemany_events_per_s": round(events / raw_s),
        "json_plus_executemany_events_per_s": round(events / parse_s),
        "rows_check": count,
    }


# --- orchestration --------------------------------------------------------------------------------


def tenure_server(home: Path, args: argparse.Namespace) -> Server:
    """`tenure serve` on `home` (or `--serve-cmd ... serve` to A/B a patched build)."""
    env = {**os.environ, "TENURE_HOME": str(home)}
    exe = args.serve_cmd.split() if args.serve_cmd else [tenure_exe()]
    port = free_port()
    command = [
        *exe,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    return Server(home=home, port=port, env=env, command=command)


def peer_server(home: Path) -> Server:
    """bench/peer_app.py on the same uvicorn, one worker."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PEER_DB": str(home / "peer.db")}
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "peer_app:create_app",
        "--factory",
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return Server(home=home, port=port, env=env, command=command)


def _stop(server: Server) -> None:
    """Stop a server that is still running."""
    if server.proc and server.proc.poll() is None:
        server.stop()


def run_tenure(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Init, key, serve; phases a, b, c; the flusher's lag; exact counts before and after stop."""
    server = tenure_server(home, args)
    results: dict[str, Any] = {}
    try:
        server.cli("init")
        secret = json.loads(server.cli("keys", "create", "--scope", "write", "--json"))["secret"]
        server.start()
        print(f"tenure serve on {server.url}, home {server.home}", flush=True)
        print(
            f"a) {args.clients} clients x {args.batch}-message batches for {args.seconds:.0f}s",
            flush=True,
        )
        results["throughput"] = tp = throughput(
            server, secret, args.clients, args.batch, args.seconds
        )
        tp["inbox_after_load"] = server.inbox_waiting()
        tp["drain_s"] = drain(server, args.drain_timeout)
        started = time.perf_counter()
        server.cli("flush")
        tp["cli_flush_s"] = round(time.perf_counter() - started, 2)
        counts = server.status()
        tp["warehouse_events"] = counts["events"]
        tp["count_ok"] = counts["events"] == tp["events_accepted"] and counts["tracking_inbox"] == 0
        expected = tp["events_accepted"]
        if args.latency_seconds:
            print(
                f"b) open loop {args.rate:.0f} req/s of /v1/track for {args.latency_seconds:.0f}s",
                flush=True,
            )
            results["latency"] = lat = latency(
                server, secret, args.rate, args.latency_seconds, args.latency_threads
            )
            expected += lat["ok"]
        if args.segment_events:
            print(f"c) segment-analytics-python, {args.segment_events:,} events", flush=True)
            results["segment"] = seg = segment_client(server, secret, args.segment_events)
            expected += seg["events"] if not seg["failed_batches"] else 0
        results["server_peak_rss_mb"] = round(server.peak_rss_mb(), 1)
        results["server_stop_s"] = round(server.stop(), 2)
        final = server.status()
        results["final"] = {
            "expected_events": expected,
            "warehouse_events": final["events"],
            "inbox_left": final["tracking_inbox"],
            "items": final["items"],
            "users": final["users"],
            "ok": final["events"] == expected and final["tracking_inbox"] == 0,
        }
    finally:
        _stop(server)
    return results


def run_peer(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The hand-rolled endpoint under the same load, then the in-process SQLite ceiling."""
    results: dict[str, Any] = {}
    if args.http_peer:
        server = peer_server(home / "peer-http")
        try:
            server.start()
            print(f"peer: hand-rolled FastAPI + sqlite3 endpoint on {server.url}", flush=True)
            results["http_peer"] = throughput(server, "", args.clients, args.batch, args.seconds)
            if args.latency_seconds:
                results["http_peer_latency"] = latency(
                    server, "", args.rate, args.latency_seconds, args.latency_threads
                )
        finally:
            _stop(server)
    print("peer: SQLite executemany in-process (no HTTP)", flush=True)
    results["sqlite_peer"] = sqlite_peer(home, args.batch, args.peer_events)
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Tenure first, then the peers, each on its own scratch folder."""
    home = Path(tempfile.mkdtemp(prefix="tenure-bench-ingest-"))
    results: dict[str, Any] = {"args": vars(args)}
    try:
        results.update(run_tenure(home / "data", args))
        results.update(run_peer(home, args))
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return results


def report(r: dict[str, Any]) -> None:
    """Print the compact tables."""
    tp, peer = r["throughput"], r["sqlite_peer"]
    base = tp["events_per_s"]
    rows: list[tuple[str, int, Any]] = [
        ("tenure /v1/batch (HTTP, validated, durable)", base, tp["events_per_server_cpu_s"])
    ]
    if "segment" in r:
        seg = r["segment"]
        rows.append(("segment-analytics-python defaults -> tenure", seg["events_per_s"], "-"))
    if "http_peer" in r:
        hp = r["http_peer"]
        rows.append(
            (
                "peer: hand-rolled FastAPI /v1/batch + sqlite3",
                hp["events_per_s"],
                hp["events_per_server_cpu_s"],
            )
        )
    rows += [
        (
            "peer: json.loads + executemany, no HTTP",
            peer["json_plus_executemany_events_per_s"],
            "-",
        ),
        ("ceiling: sqlite executemany only", peer["executemany_events_per_s"], "-"),
    ]
    print()
    print(
        table(
            ("ingestion path", "events/s", "vs tenure", "per server CPU-s"),
            [(name, rate, f"{rate / base:.2f}x", cpu) for name, rate, cpu in rows],
        )
    )
    verdict = "meets" if base >= TARGET_EVENTS_PER_S else "MISSES"
    print(
        f"\nbatch: {tp['events_accepted']:,} events in {tp['seconds']}s, "
        f"{tp['requests']:,} requests, {tp['errors']} errors; "
        f"per batch p50 {tp['batch_p50_ms']} ms, p99 {tp['batch_p99_ms']} ms;"
        f" server CPU {tp['server_cpu_s']}s, client CPU {tp['client_cpu_s']}s;"
        f" {verdict} the >= {TARGET_EVENTS_PER_S:,}/s target"
    )
    drained = (
        f"emptied by the background flusher in {tp['drain_s']}s"
        if tp["drain_s"] is not None
        else "not emptied by the background flusher in time"
    )
    print(
        f"flush: {tp['inbox_after_load']:,} waiting when the load stopped, {drained}; "
        f"`tenure flush` {tp['cli_flush_s']}s; warehouse events {tp['warehouse_events']:,} "
        f"vs accepted {tp['events_accepted']:,}: {'OK' if tp['count_ok'] else 'MISMATCH'}"
    )
    lat_rows = [
        (
            name,
            x["target_rate"],
            x["achieved_rate"],
            x["p50_ms"],
            x["p95_ms"],
            x["p99_ms"],
            x["max_ms"],
            x["errors"],
        )
        for name, x in (("tenure", r.get("latency")), ("peer", r.get("http_peer_latency")))
        if x
    ]
    if lat_rows:
        print()
        print(
            table(
                (
                    "/v1/track open loop",
                    "rate/s",
                    "achieved/s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "max ms",
                    "errors",
                ),
                lat_rows,
            )
        )
    fin = r["final"]
    print(
        f"\nfinal: warehouse events {fin['warehouse_events']:,} "
        f"vs sent {fin['expected_events']:,}, "
        f"inbox {fin['inbox_left']}: {'OK' if fin['ok'] else 'MISMATCH'}; "
        f"server peak RSS {r['server_peak_rss_mb']} MB, graceful stop {r['server_stop_s']}s"
    )


def main() -> None:
    """Parse arguments, run, print, save JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4, help="Concurrent batch clients.")
    parser.add_argument("--batch", type=int, default=500, help="Messages per /v1/batch.")
    parser.add_argument("--seconds", type=float, default=20, help="Length of the batch phase.")
    parser.add_argument("--rate", type=float, default=200, help="Single calls per second.")
    parser.add_argument("--latency-seconds", type=float, default=15, help="Length of phase b.")
    parser.add_argument("--latency-threads", type=int, default=64, help="Client threads, phase b.")
    parser.add_argument("--segment-events", type=int, default=20_000, help="0 skips phase c.")
    parser.add_argument("--peer-events", type=int, default=200_000, help="Rows for the peer.")
    parser.add_argument("--drain-timeout", type=float, default=300, help="Wait for the flusher.")
    parser.add_argument("--workers", type=int, default=1, help="`tenure serve --workers`.")
    parser.add_argument(
        "--no-http-peer",
        dest="http_peer",
        action="store_false",
        help="Skip the hand-rolled HTTP endpoint peer.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the scratch home.")
    parser.add_argument("--serve-cmd", help="Run this instead of `tenure` for `serve` (A/B a fix).")
    args = parser.parse_args()
    load = warn_if_busy()
    results = run(args)
    results["loadavg_at_start"] = load
    report(results)
    print(f"\nresults: {write_results('ingest', results)}")


if __name__ == "__main__":
    main()
