"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives.

    with SmtpSink(reject={"gone@example.com"}, defer={"full@example.com"}) as sink:
        ...send to 127.0.0.1:sink.port...
        sink.messages[0]["Subject"]

`reject` addresses are answered 550 at RCPT, `defer` addresses 451, `closing` addresses 421
(the server is going away). `connections` counts the
SMTP sessions that greeted the server (EHLO/HELO), so a test can see a connection reused.
`kill()` drops every open connection and stops listening; `start()` listens again on the
same port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterable
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.sink._greeted(session)
        return responses

    async def handle_HELO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        session.host_name = hostname
        self.sink._greeted(session)
        return f"250 {server.hostname}"

    async def handle_RCPT(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.sink.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address.lower() in self.sink.closing:
            return "421 4.3.2 shutting down, closing the channel"
        if address.lower() in self.sink.defer:
            return f"451 4.2.0 <{address}>: mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink._lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "raw": raw}
            )
            number = len(self.sink.messages)
        return f"250 2.0.0 Ok: queued as Q{number:05d}"


class _Controller(Controller):
    """aiosmtpd's controller, remembering each connection so `kill()` can drop it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.servers: list[SMTP] = []

    def factory(self) -> SMTP:
        server: SMTP = super().factory()
        self.servers.append(server)
        return server

    def drop_connections(self) -> None:
        done = threading.Event()

        def abort() -> None:
            for server in self.servers:
                if isinstance(server.transport, asyncio.Transport):
                    server.transport.abort()
            done.set()

        self.loop.call_soon_threadsafe(abort)
        done.wait(5)


class SmtpSink:
    """A local SMTP server (see the module docstring)."""

    def __init__(
        self,
        *,
        reject: Iterable[str] = (),
        defer: Iterable[str] = (),
        closing: Iterable[str] = (),
        port: int | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.reject = {address.lower() for address in reject}
        self.defer = {address.lower() for address in defer}
        self.closing = {address.lower() for address in closing}
        self.port = port or free_port()
        self.smtputf8 = smtputf8
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self._sessions: dict[int, Session] = {}  # kept alive, so ids stay unique
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """How many SMTP sessions said EHLO or HELO."""
        with self._lock:
            return len(self._sessions)

    def _greeted(self, session: Session) -> None:
        with self._lock:
            self._sessions[id(session)] = session

    def start(self) -> SmtpSink:
        controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=self.smtputf8,
            ready_timeout=5.0,
        )
        controller.start()
        self._controller = controller
        return self

    def kill(self) -> None:
        """Drop every open connection and stop listening, like a crashed server."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.drop_connections()
            controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.kill()
