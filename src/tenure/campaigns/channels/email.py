"""E-mail over SMTP: one kept-open connection, RFC 8058 one-click unsubscribe, bounce classes.

`SmtpSender(url, sender)` takes `smtp://[user:password@]host[:port][?starttls=true]` or
`smtps://…`. It keeps one connection across sends and, when the server has dropped it,
reconnects and tries the message once more. The Message-ID is `<{message_id}@tenure>`, the same
on every try, so a receiver can drop a duplicate.

Outcomes: a 2xx is "sent"; a 5xx on RCPT is "failed" with `hard_bounce` (the caller suppresses
the address); another 5xx is "failed"; a 4xx, a timeout or a connection problem is "retry".
Trouble before any message command (connecting, STARTTLS, login) is "retry" too: it is about the
server, not the message, and it clears once the operator fixes it.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr
from functools import cache
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from tenure.campaigns.channels.base import Envelope, Outcome, failed, retry, sent
from tenure.campaigns.channels.ratelimit import bucket_for

log = logging.getLogger(__name__)

# Headers in RFC 2047 words, bodies in base64/quoted-printable: 7-bit clean for any server.
_POLICY = policy.SMTP.clone(cte_type="7bit")
# For an address that is not ASCII, which needs the server's SMTPUTF8.
_POLICY_UTF8 = policy.SMTPUTF8
# Long headers (a List-Unsubscribe URL) stay on one line: 998 characters is the RFC limit.
_COMPAT = policy.compat32.clone(linesep="\r\n", max_line_length=998)
_QUEUE_ID = re.compile(r"(?:queued as|id=)\s*<?([A-Za-z0-9._@-]+)", re.IGNORECASE)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._%+=-]")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from the SMTP URL."""

    host: str
    port: int
    security: Literal["plain", "starttls", "tls"]
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _shown(url: str) -> str:
    """The URL with its password masked, for error messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def parse_smtp_url(url: str) -> SmtpTarget:
    """An SmtpTarget from `smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://…`;
    ValueError names what is wrong."""
    shown = _shown(url)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP URL {shown!r} must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError(f"SMTP URL {shown!r} has no host (smtp://host:587)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"SMTP URL {shown!r} has a bad port") from None
    starttls = False
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "starttls":
            raise ValueError(f"SMTP URL {shown!r}: unknown option {key!r} (known: starttls)")
        if value.lower() not in _TRUE | _FALSE:
            raise ValueError(f"SMTP URL {shown!r}: starttls must be true or false")
        starttls = value.lower() in _TRUE
    if scheme == "smtps" and starttls:
        raise ValueError(f"SMTP URL {shown!r}: smtps:// is TLS already; drop ?starttls")
    if parts.path not in ("", "/"):
        raise ValueError(f"SMTP URL {shown!r} must not have a path")
    security: Literal["plain", "starttls", "tls"] = (
        "tls" if scheme == "smtps" else "starttls" if starttls else "plain"
    )
    default_port = {"tls": 465, "starttls": 587, "plain": 25}[security]
    return SmtpTarget(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@cache
def _local_hostname() -> str:
    """The name said in EHLO, looked up once (getfqdn can be slow)."""
    return socket.getfqdn()


class _BadAddress(ValueError):
    """The envelope's `to` cannot be an e-mail address."""


class _Reconnect(Exception):
    """The server dropped the connection (or said 421); connect again."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _text(reply: bytes | str) -> str:
    return _one_line(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


class SmtpSender:
    """E-mail through one SMTP server (see the module docstring). Safe to share between
    threads: each send takes an idle session from a pool of at most `connections`."""

    channel = "email"

    def __init__(
        self,
        url: str,
        sender: str,
        *,
        timeout: float = 10.0,
        rate_per_second: float | None = None,
        connections: int = 1,
    ) -> None:
        self.target = parse_smtp_url(url)
        self.sender = _one_line(sender)
        self.from_address = parseaddr(self.sender)[1]
        if "@" not in self.from_address:
            raise ValueError(f"the sender {sender!r} has no e-mail address")
        self.timeout = timeout
        self._bucket = bucket_for(rate_per_second)
        # Idle sessions, reused; `connections` of them may be busy at once (one per thread).
        self._idle: list[smtplib.SMTP] = []
        self._slots = threading.BoundedSemaphore(connections)
        self._lock = threading.Lock()
        self.opened = 0

    # -- the message -----------------------------------------------------------------------

    def build(self, envelope: Envelope) -> Message:
        """The message as it goes out; ValueError for an envelope that cannot be one."""
        address = envelope.to.strip()
        if parseaddr(address)[1] != address or "@" not in address:
            raise _BadAddress(f"{envelope.to!r} is not an e-mail address")
        if address.isascii() and self.sender.isascii():
            return self._build_ascii(envelope, address)
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = _one_line(envelope.subject or "")
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{_UNSAFE_ID.sub('-', envelope.message_id)}@tenure>"
        message["X-Tenure-Message-Id"] = _one_line(envelope.message_id)
        if envelope.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{_one_line(envelope.unsubscribe_url)}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(envelope.text)
        if envelope.html is not None:
            message.add_alternative(envelope.html, subtype="html")
        return message

    def _build_ascii(self, envelope: Envelope, address: str) -> Message:
        """The same message through the classic MIME classes: about 3x faster to build and
        write than EmailMessage's header registry, which matters at hundreds a second. Text
        is UTF-8 in base64 and headers are RFC 2047 words, so the bytes stay 7-bit."""
        text = MIMEText(envelope.text, "plain", "utf-8")
        message: Message = text
        if envelope.html is not None:
            message = MIMEMultipart("alternative")
            message.attach(text)
            message.attach(MIMEText(envelope.html, "html", "utf-8"))
        subject = _one_line(envelope.subject or "")
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{_UNSAFE_ID.sub('-', envelope.message_id)}@tenure>"
        message["X-Tenure-Message-Id"] = _UNSAFE_ID.sub("-", envelope.message_id)
        if envelope.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{_one_line(envelope.unsubscribe_url)}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message

    # -- sending ---------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> Outcome:
        try:
            message = self.build(envelope)
        except _BadAddress as exc:
            return failed(str(exc), hard_bounce=True)
        except ValueError as exc:
            return failed(f"cannot build the message: {exc}")
        recipient = str(message["To"])
        international = not (recipient.isascii() and self.from_address.isascii())
        if isinstance(message, EmailMessage):
            payload = message.as_bytes(policy=_POLICY_UTF8 if international else _POLICY)
        else:
            payload = message.as_bytes(policy=_COMPAT)
        if self._bucket is not None:
            self._bucket.acquire()
        with self._slots:  # at most `connections` sessions at once
            return self._deliver(recipient, payload, international)

    def _deliver(self, recipient: str, payload: bytes, international: bool) -> Outcome:
        lost = ""
        smtp: smtplib.SMTP | None = None
        try:
            for attempt in (1, 2):
                try:
                    smtp = smtp or self._idle_or_new()
                except (smtplib.SMTPException, OSError) as exc:
                    where = f"{self.target.host}:{self.target.port}"
                    return retry(f"cannot open an SMTP session with {where}: {_describe(exc)}")
                try:
                    return self._transact(smtp, recipient, payload, international)
                except (_Reconnect, smtplib.SMTPServerDisconnected) as exc:
                    smtp.close()
                    smtp = None
                    lost = f"the server dropped the connection: {_describe(exc)}"
                    log.info("SMTP try %d: %s", attempt, lost)
                except OSError as exc:
                    smtp.close()
                    smtp = None
                    return retry(f"SMTP connection error: {_describe(exc)}")
            return retry(lost)
        finally:
            if smtp is not None and smtp.sock is not None:
                with self._lock:
                    self._idle.append(smtp)

    def _transact(
        self, smtp: smtplib.SMTP, recipient: str, payload: bytes, international: bool
    ) -> Outcome:
        options: list[str] = []
        if international:
            if not smtp.has_extn("smtputf8"):
                return failed(f"the server cannot take the non-ASCII address {recipient!r}")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        code, reply = smtp.mail(self.from_address, options)
        if code != 250:
            return self._refused(smtp, "MAIL FROM", code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            return self._refused(smtp, "RCPT TO", code, reply, recipient=True)
        try:
            code, reply = smtp.data(payload)
        except smtplib.SMTPDataError as exc:
            return self._refused(smtp, "DATA", exc.smtp_code, exc.smtp_error)
        if code != 250:
            return self._refused(smtp, "DATA", code, reply, reset=False)
        found = _QUEUE_ID.search(_text(reply))
        return sent(found.group(1) if found else None)

    def _refused(
        self,
        smtp: smtplib.SMTP,
        phase: str,
        code: int,
        reply: bytes | str,
        *,
        recipient: bool = False,
        reset: bool = True,
    ) -> Outcome:
        reason = f"{phase} answered {code} {_text(reply)}"
        if code == 421:
            raise _Reconnect(reason)
        if reset:
            try:
                smtp.rset()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # not given back to the pool
        if 500 <= code < 600:
            return failed(reason, hard_bounce=recipient)
        return retry(reason)

    # -- the connection --------------------------------------------------------------------

    def _idle_or_new(self) -> smtplib.SMTP:
        with self._lock:
            while self._idle:
                smtp = self._idle.pop()
                if smtp.sock is not None:
                    return smtp
        return self._open()

    def _open(self) -> smtplib.SMTP:
        target = self.target
        smtp: smtplib.SMTP
        if target.security == "tls":
            smtp = smtplib.SMTP_SSL(
                target.host,
                target.port,
                local_hostname=_local_hostname(),
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(
                target.host, target.port, local_hostname=_local_hostname(), timeout=self.timeout
            )
        try:
            smtp.ehlo()
            if target.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if target.username:
                smtp.login(target.username, target.password or "")
        except BaseException:
            smtp.close()
            raise
        self.opened += 1
        return smtp

    def close(self) -> None:
        """Say QUIT on the idle connections and close them (a later send opens new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
