"""E-mail over SMTP, against a real local SMTP server (aiosmtpd): headers, Chinese text,
one connection for many messages, bounces, a server that dies and comes back, rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest

from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.channels.email import SmtpSender, SmtpTarget, parse_smtp_url
from tenure.campaigns.channels.ratelimit import TokenBucket

from .smtp_sink import SmtpSink, free_port

SENDER = "优选商城 <shop@example.com>"
GONE = "gone@example.com"
BUSY = "busy@example.com"


def envelope(to: str = "ann@example.com", message_id: str = "c7f3a9", **extra: object) -> Envelope:
    values: dict[str, object] = {
        "message_id": message_id,
        "channel": "email",
        "user_id": "u-1",
        "to": to,
        "locale": "zh-CN",
        "text": "你好，安！\n您的积分：1,200",
        "subject": "双十一：您的优惠券已到账",
    }
    values.update(extra)
    return Envelope(**values)  # type: ignore[arg-type]


def plain(text: str) -> str:
    return text.replace("\r\n", "\n")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(reject={GONE}, defer={BUSY}) as running:
        yield running


@pytest.fixture
def sender(sink: SmtpSink) -> Iterator[SmtpSender]:
    with SmtpSender(sink.url, SENDER, timeout=5) as opened:
        yield opened


class TestSmtpUrl:
    def test_plain_starttls_and_tls_urls(self) -> None:
        assert parse_smtp_url("smtp://mail.example.com") == SmtpTarget(
            "mail.example.com", 25, "plain"
        )
        target = parse_smtp_url("smtp://me%40x.com:p%2Fw@mail.example.com?starttls=true")
        assert (target.port, target.security, target.username, target.password) == (
            587,
            "starttls",
            "me@x.com",
            "p/w",
        )
        assert parse_smtp_url("smtps://mail.example.com:2465").port == 2465
        assert parse_smtp_url("SMTPS://mail.example.com").security == "tls"

    def test_password_is_not_in_the_repr(self) -> None:
        assert "hunter2" not in repr(parse_smtp_url("smtp://me:hunter2@mail.example.com"))

    @pytest.mark.parametrize(
        ("url", "complaint"),
        [
            ("http://mail.example.com", "must start with smtp:// or smtps://"),
            ("smtp://", "has no host"),
            ("smtp://mail.example.com:99999", "bad port"),
            ("smtp://mail.example.com?tls=1", "unknown option 'tls'"),
            ("smtp://mail.example.com?starttls=maybe", "true or false"),
            ("smtps://mail.example.com?starttls=true", "TLS already"),
            ("smtp://mail.example.com/inbox", "path"),
        ],
    )
    def test_bad_urls_say_what_is_wrong(self, url: str, complaint: str) -> None:
        with pytest.raises(ValueError, match=complaint):
            parse_smtp_url(url)

    def test_bad_url_messages_hide_the_password(self) -> None:
        with pytest.raises(ValueError, match=r"me:\*\*\*@") as caught:
            parse_smtp_url("smtp://me:hunter2@mail.example.com?x=1")
        assert "hunter2" not in str(caught.value)

    def test_sender_needs_an_address(self) -> None:
        with pytest.raises(ValueError, match="no e-mail address"):
            SmtpSender("smtp://127.0.0.1", "Just a name")


class TestMessage:
    def test_chinese_subject_and_bodies_arrive_intact(
        self, sink: SmtpSink, sender: SmtpSender
    ) -> None:
        html = "<p>你好，<b>安</b>！</p>"
        outcome = sender.send(envelope(html=html))
        assert outcome.status == "sent"
        [message] = sink.messages
        assert message["Subject"] == "双十一：您的优惠券已到账"
        assert message["From"] == SENDER
        assert message["To"] == "ann@example.com"
        assert message.get_content_type() == "multipart/alternative"
        text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
        assert text_part is not None
        assert html_part is not None
        assert plain(text_part.get_content()) == "你好，安！\n您的积分：1,200\n"
        assert plain(html_part.get_content()) == html + "\n"

    def test_message_is_seven_bit_clean_on_the_wire(
        self, sink: SmtpSink, sender: SmtpSender
    ) -> None:
        sender.send(envelope(html="<p>你好</p>"))
        assert sink.envelopes[0]["raw"].isascii()
        assert sink.envelopes[0]["from"] == "shop@example.com"

    def test_deterministic_ids_and_one_click_unsubscribe(
        self, sink: SmtpSink, sender: SmtpSender
    ) -> None:
        unsubscribe = "https://shop.example.com/v1/unsubscribe?t=abc&u=1"
        sender.send(envelope(unsubscribe_url=unsubscribe))
        sender.send(envelope(unsubscribe_url=unsubscribe))  # a retry of the same message
        first, again = sink.messages
        assert first["Message-ID"] == again["Message-ID"] == "<c7f3a9@tenure>"
        assert first["X-Tenure-Message-Id"] == "c7f3a9"
        assert first["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parsedate_to_datetime(first["Date"]).tzinfo is not None

    def test_text_only_without_unsubscribe(self, sink: SmtpSink, sender: SmtpSender) -> None:
        sender.send(envelope(subject=None, text="plain"))
        [message] = sink.messages
        assert message.get_content_type() == "text/plain"
        assert message["List-Unsubscribe"] is None
        assert message["Subject"] == ""

    def test_line_breaks_cannot_inject_headers(self, sink: SmtpSink, sender: SmtpSender) -> None:
        outcome = sender.send(envelope(subject="Hi\r\nBcc: eve@example.com"))
        assert outcome.status == "sent"
        [message] = sink.messages
        assert message["Bcc"] is None
        assert sink.envelopes[0]["to"] == ["ann@example.com"]

    def test_non_ascii_address_goes_by_smtputf8(self, sink: SmtpSink, sender: SmtpSender) -> None:
        assert sender.send(envelope(to="安@例子.中国")).status == "sent"
        assert sink.envelopes[0]["to"] == ["安@例子.中国"]

    def test_non_ascii_address_fails_without_smtputf8(self) -> None:
        with SmtpSink(smtputf8=False) as sink, SmtpSender(sink.url, SENDER) as sender:
            outcome = sender.send(envelope(to="安@例子.中国"))
        assert outcome.status == "failed"
        assert "non-ASCII" in (outcome.reason or "")


class TestConnection:
    def test_fifty_messages_share_one_connection(self, sink: SmtpSink, sender: SmtpSender) -> None:
        outcomes = [sender.send(envelope(message_id=f"m{i}")) for i in range(50)]
        assert {outcome.status for outcome in outcomes} == {"sent"}
        assert len(sink.messages) == 50
        assert sink.connections == 1
        assert outcomes[-1].provider_id == "Q00050"

    def test_close_quits_and_a_later_send_reconnects(
        self, sink: SmtpSink, sender: SmtpSender
    ) -> None:
        sender.send(envelope())
        sender.close()
        sender.close()  # twice is harmless
        assert sender.send(envelope()).status == "sent"
        assert sink.connections == 2

    def test_threads_share_the_sender(self, sink: SmtpSink, sender: SmtpSender) -> None:
        def work(start: int) -> None:
            for i in range(start, start + 10):
                assert sender.send(envelope(message_id=f"t{i}")).status == "sent"

        threads = [threading.Thread(target=work, args=(n * 10,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(sink.messages) == 40
        assert sink.connections == 1


class TestOutcomes:
    def test_unknown_mailbox_is_a_hard_bounce(self, sink: SmtpSink, sender: SmtpSender) -> None:
        outcome = sender.send(envelope(to=GONE))
        assert outcome.status == "failed"
        assert outcome.hard_bounce
        assert "RCPT TO answered 550" in (outcome.reason or "")

    def test_temporary_refusal_is_a_retry(self, sink: SmtpSink, sender: SmtpSender) -> None:
        outcome = sender.send(envelope(to=BUSY))
        assert (outcome.status, outcome.hard_bounce) == ("retry", False)
        assert "451" in (outcome.reason or "")

    def test_connection_stays_usable_after_a_refusal(
        self, sink: SmtpSink, sender: SmtpSender
    ) -> None:
        sender.send(envelope(to=GONE))
        sender.send(envelope(to=BUSY))
        assert sender.send(envelope()).status == "sent"
        assert sink.connections == 1
        assert [m["To"] for m in sink.messages] == ["ann@example.com"]

    def test_421_reconnects_once_then_is_a_retry(self) -> None:
        with SmtpSink(closing={"late@example.com"}) as sink, SmtpSender(sink.url, SENDER) as sender:
            outcome = sender.send(envelope(to="late@example.com"))
            assert outcome.status == "retry"
            assert "421" in (outcome.reason or "")
            assert sink.connections == 2
            assert sender.send(envelope()).status == "sent"

    def test_malformed_address_fails_without_the_server(self, sink: SmtpSink) -> None:
        with SmtpSender(sink.url, SENDER) as sender:
            outcome = sender.send(envelope(to="not an address"))
        assert (outcome.status, outcome.hard_bounce) == ("failed", True)
        assert sink.connections == 0

    def test_no_server_is_a_retry(self) -> None:
        with SmtpSender(f"smtp://127.0.0.1:{free_port()}", SENDER, timeout=2) as sender:
            outcome = sender.send(envelope())
        assert outcome.status == "retry"
        assert "cannot open an SMTP session" in (outcome.reason or "")


class TestServerLoss:
    def test_dead_server_is_a_retry_and_a_restarted_one_gets_the_message(self) -> None:
        sink = SmtpSink().start()
        try:
            with SmtpSender(sink.url, SENDER, timeout=5) as sender:
                assert sender.send(envelope(message_id="m1")).status == "sent"
                sink.kill()
                outcome = sender.send(envelope(message_id="m2"))
                assert outcome.status == "retry"
                sink.start()
                assert sender.send(envelope(message_id="m2")).status == "sent"
        finally:
            sink.kill()
        assert [m["Message-ID"] for m in sink.messages] == ["<m1@tenure>", "<m2@tenure>"]
        assert sink.connections == 2

    def test_a_dropped_connection_is_reopened_for_the_same_message(self) -> None:
        sink = SmtpSink().start()
        try:
            with SmtpSender(sink.url, SENDER, timeout=5) as sender:
                assert sender.send(envelope(message_id="m1")).status == "sent"
                sink.kill()
                sink.start()  # back before the next send: nobody should see a retry
                assert sender.send(envelope(message_id="m2")).status == "sent"
        finally:
            sink.kill()
        assert len(sink.messages) == 2


class TestRateLimit:
    def test_twenty_messages_at_a_hundred_per_second_take_a_fifth_of_a_second(
        self, sink: SmtpSink
    ) -> None:
        with SmtpSender(sink.url, SENDER, rate_per_second=100) as sender:
            started = time.monotonic()
            for i in range(20):
                sender.send(envelope(message_id=f"r{i}"))
            elapsed = time.monotonic() - started
        assert elapsed >= 0.185
        assert len(sink.messages) == 20


class TestTokenBucket:
    def test_burst_then_the_rate(self) -> None:
        now = [0.0]
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(round(seconds, 6))
            now[0] += seconds

        bucket = TokenBucket(10, burst=3, clock=lambda: now[0], sleep=sleep)
        for _ in range(5):
            bucket.acquire()
        assert slept == [0.1, 0.1]
        now[0] += 10  # a long pause refills only up to the burst
        for _ in range(4):
            bucket.acquire()
        assert slept == [0.1, 0.1, 0.1]

    def test_threads_together_keep_the_rate(self) -> None:
        bucket = TokenBucket(200, burst=1)
        started = time.monotonic()
        threads = [
            threading.Thread(target=lambda: [bucket.acquire() for _ in range(10)]) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started >= 39 / 200 - 0.005

    @pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (5, 0)])
    def test_bad_settings_are_refused(self, rate: float, burst: int) -> None:
        with pytest.raises(ValueError, match="must be"):
            TokenBucket(rate, burst)
