"""SMS and push through provider webhooks, against a real local HTTP server: status classes,
the Idempotency-Key, each provider's payload and bounce replies, rate limits, settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.channels.config import SETTING_OF, senders_from
from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.channels.providers import (
    PROVIDERS,
    bounce_in_reply,
    builder,
    outcome_of_reply,
)
from tenure.campaigns.channels.webhook import WebhookSender
from tenure.config import Settings
from tenure.errors import ConfigError

from .http_sink import HttpSink
from .smtp_sink import free_port


def envelope(channel: str = "sms", **extra: Any) -> Envelope:
    values: dict[str, Any] = {
        "message_id": "c7f3a9",
        "channel": channel,
        "user_id": "u-1",
        "to": "+8613800138000",
        "locale": "zh-CN",
        "text": "您的优惠券已到账",
    }
    values.update(extra)
    return Envelope(**values)


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as running:
        yield running


def sender_for(sink: HttpSink, provider: str = "generic", **options: Any) -> WebhookSender:
    return WebhookSender("sms", sink.url("/send"), provider, timeout=5, **options)


class TestStatuses:
    def test_2xx_is_sent_with_the_provider_id(self, sink: HttpSink) -> None:
        sink.reply(201, {"sid": "SM123"})
        with sender_for(sink) as sender:
            first = sender.send(envelope())
            second = sender.send(envelope())
        assert (first.status, first.provider_id) == ("sent", "SM123")
        assert (second.status, second.provider_id) == ("sent", "msg-2")

    def test_2xx_without_json_is_sent(self, sink: HttpSink) -> None:
        sink.reply(202, "accepted")
        with sender_for(sink) as sender:
            outcome = sender.send(envelope())
        assert (outcome.status, outcome.provider_id) == ("sent", None)

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
    def test_throttling_and_server_errors_are_retries(self, sink: HttpSink, status: int) -> None:
        sink.reply(status, {"error": "later"})
        with sender_for(sink) as sender:
            outcome = sender.send(envelope())
        assert outcome.status == "retry"
        assert f"HTTP {status}" in (outcome.reason or "")

    def test_retry_after_is_in_the_reason(self, sink: HttpSink) -> None:
        sink.reply(429, {"error": "slow down"}, headers={"Retry-After": "7"})
        with sender_for(sink) as sender:
            outcome = sender.send(envelope())
        assert outcome.reason == 'HTTP 429: {"error": "slow down"} (Retry-After: 7)'

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_other_4xx_fail(self, sink: HttpSink, status: int) -> None:
        sink.reply(status, {"error": "no"})
        with sender_for(sink) as sender:
            outcome = sender.send(envelope())
        assert (outcome.status, outcome.hard_bounce) == ("failed", False)

    def test_redirect_is_not_followed(self, sink: HttpSink) -> None:
        sink.reply(302, None, headers={"Location": "http://127.0.0.1:1/elsewhere"})
        with sender_for(sink) as sender:
            outcome = sender.send(envelope())
        assert outcome.status == "failed"
        assert len(sink.calls) == 1

    def test_nobody_listening_is_a_retry(self) -> None:
        with WebhookSender("sms", f"http://127.0.0.1:{free_port()}/send") as sender:
            outcome = sender.send(envelope())
        assert outcome.status == "retry"
        assert "cannot reach http://127.0.0.1" in (outcome.reason or "")

    def test_a_slow_provider_is_a_retry(self) -> None:
        with HttpSink(delay=0.5) as slow:
            sender = WebhookSender("sms", slow.url("/send"), timeout=0.2)
            outcome = sender.send(envelope())
            sender.close()
        assert outcome.status == "retry"
        assert "did not answer within 0.2 s" in (outcome.reason or "")


class TestRequest:
    def test_idempotency_key_is_the_message_id_on_every_try(self, sink: HttpSink) -> None:
        sink.reply(503)
        with sender_for(sink) as sender:
            sender.send(envelope())
            sender.send(envelope())
        assert [call.headers["idempotency-key"] for call in sink.calls] == ["c7f3a9", "c7f3a9"]
        assert {call.method for call in sink.calls} == {"POST"}
        assert {call.path for call in sink.calls} == {"/send"}

    def test_configured_headers_are_sent(self, sink: HttpSink) -> None:
        with sender_for(sink, headers={"Authorization": "Bearer t0k"}) as sender:
            sender.send(envelope())
        assert sink.calls[0].headers["authorization"] == "Bearer t0k"

    def test_credentials_in_the_url_become_basic_auth(self, sink: HttpSink) -> None:
        url = sink.url("/send").replace("http://", "http://AC1:secret@")
        with WebhookSender("sms", url, "twilio") as sender:
            sender.send(envelope(data={"from": "+15550001111"}))
        assert sink.calls[0].headers["authorization"].startswith("Basic ")

    def test_a_payload_that_cannot_be_built_fails_without_a_call(self, sink: HttpSink) -> None:
        with sender_for(sink, "wechat_template") as sender:
            outcome = sender.send(envelope("push", to="oAbc"))
        assert outcome.status == "failed"
        assert "template_id" in (outcome.reason or "")
        assert sink.calls == []

    def test_an_external_client_is_left_open(self, sink: HttpSink) -> None:
        import httpx

        with httpx.Client() as client:
            sender = WebhookSender("sms", sink.url("/send"), client=client)
            sender.close()
            assert not client.is_closed


class TestProviderPayloads:
    def test_generic(self, sink: HttpSink) -> None:
        with sender_for(sink) as sender:
            sender.send(envelope(title="双十一", url="https://s.example/c", data={"k": 1}))
        assert sink.calls[0].headers["content-type"] == "application/json"
        assert sink.calls[0].json() == {
            "id": "c7f3a9",
            "channel": "sms",
            "to": "+8613800138000",
            "text": "您的优惠券已到账",
            "title": "双十一",
            "url": "https://s.example/c",
            "locale": "zh-CN",
            "data": {"k": 1},
        }

    def test_twilio(self, sink: HttpSink) -> None:
        sink.reply(201, {"sid": "SM9", "status": "queued"})
        with sender_for(sink, "twilio") as sender:
            outcome = sender.send(envelope(data={"from": "+15550001111"}))
        assert outcome.provider_id == "SM9"
        assert sink.calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
        assert sink.calls[0].form() == {
            "To": "+8613800138000",
            "Body": "您的优惠券已到账",
            "From": "+15550001111",
        }

    def test_fcm(self, sink: HttpSink) -> None:
        sink.reply(200, {"name": "projects/p/messages/0:123"})
        with sender_for(sink, "fcm") as sender:
            outcome = sender.send(
                envelope(
                    "push",
                    to="fcm-token",
                    title="双十一",
                    url="app://coupons",
                    data={"coupon": "SAVE10", "points": 120, "tags": ["a"]},
                )
            )
        assert outcome.provider_id == "projects/p/messages/0:123"
        assert sink.calls[0].json() == {
            "message": {
                "token": "fcm-token",
                "notification": {"title": "双十一", "body": "您的优惠券已到账"},
                "data": {
                    "coupon": "SAVE10",
                    "points": "120",
                    "tags": '["a"]',
                    "url": "app://coupons",
                    "message_id": "c7f3a9",
                },
            }
        }

    def test_wechat_template_with_fields(self, sink: HttpSink) -> None:
        sink.reply(200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332})
        fields = {"first": "恭喜", "keyword1": "SAVE10", "remark": "点击查看"}
        with sender_for(sink, "wechat_template") as sender:
            outcome = sender.send(
                envelope(
                    "push",
                    to="oAbc",
                    url="https://s.example/c",
                    data={"template_id": "T1", "fields": fields},
                )
            )
        assert (outcome.status, outcome.provider_id) == ("sent", "200228332")
        assert sink.calls[0].json() == {
            "touser": "oAbc",
            "template_id": "T1",
            "url": "https://s.example/c",
            "client_msg_id": "c7f3a9",
            "data": {
                "first": {"value": "恭喜"},
                "keyword1": {"value": "SAVE10"},
                "remark": {"value": "点击查看"},
            },
        }

    def test_wechat_template_from_title_and_text(self) -> None:
        kind, body = PROVIDERS["wechat_template"](
            envelope("push", to="oAbc", title="标题", data={"template_id": "T1"})
        )
        assert kind == "json"
        assert body["data"] == {"first": {"value": "标题"}, "remark": {"value": "您的优惠券已到账"}}
        assert "url" not in body

    def test_aliyun_sms(self, sink: HttpSink) -> None:
        sink.reply(200, {"Code": "OK", "Message": "OK", "BizId": "9006197^0", "RequestId": "r"})
        data = {"sign_name": "优选商城", "template_code": "SMS_1", "template_param": {"code": "8"}}
        with sender_for(sink, "aliyun_sms") as sender:
            outcome = sender.send(envelope(data=data))
        assert (outcome.status, outcome.provider_id) == ("sent", "9006197^0")
        assert sink.calls[0].form() == {
            "PhoneNumbers": "+8613800138000",
            "SignName": "优选商城",
            "TemplateCode": "SMS_1",
            "TemplateParam": '{"code": "8"}',
            "OutId": "c7f3a9",
        }

    def test_unknown_provider_lists_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match="known: aliyun_sms, fcm, generic, twilio"):
            builder("sendgrid")
        with pytest.raises(ValueError, match="unknown provider 'sendgrid'"):
            WebhookSender("sms", "http://127.0.0.1/x", "sendgrid")

    @pytest.mark.parametrize("url", ["ftp://x/y", "not a url", "http:///path"])
    def test_bad_urls_are_refused(self, url: str) -> None:
        with pytest.raises(ValueError, match="webhook URL"):
            WebhookSender("sms", url)


class TestBounces:
    def test_fcm_unregistered_token(self, sink: HttpSink) -> None:
        sink.reply(
            404,
            {
                "error": {
                    "code": 404,
                    "status": "NOT_FOUND",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "UNREGISTERED",
                        }
                    ],
                }
            },
        )
        with sender_for(sink, "fcm") as sender:
            outcome = sender.send(envelope("push", to="stale-token"))
        assert (outcome.status, outcome.hard_bounce) == ("failed", True)

    def test_twilio_invalid_number(self, sink: HttpSink) -> None:
        sink.reply(400, {"code": 21211, "message": "The 'To' number is not valid."})
        with sender_for(sink, "twilio") as sender:
            outcome = sender.send(envelope(to="+1000"))
        assert (outcome.status, outcome.hard_bounce) == ("failed", True)
        assert "21211" in (outcome.reason or "")

    def test_twilio_other_errors_are_not_bounces(self) -> None:
        assert not bounce_in_reply("twilio", 400, {"code": 21602, "message": "Body required"})

    def test_wechat_unfollowed_user_in_a_200(self, sink: HttpSink) -> None:
        sink.reply(200, {"errcode": 43004, "errmsg": "require subscribe"})
        with sender_for(sink, "wechat_template") as sender:
            outcome = sender.send(envelope("push", to="oAbc", data={"template_id": "T1"}))
        assert (outcome.status, outcome.hard_bounce) == ("failed", True)
        assert outcome.reason == "HTTP 200 errcode 43004: require subscribe"

    def test_wechat_busy_is_a_retry(self) -> None:
        outcome = outcome_of_reply("wechat_template", 200, {"errcode": -1, "errmsg": "busy"})
        assert outcome.status == "retry"

    def test_wechat_bad_template_fails_without_a_bounce(self) -> None:
        outcome = outcome_of_reply("wechat_template", 200, {"errcode": 40037, "errmsg": "tpl"})
        assert (outcome.status, outcome.hard_bounce) == ("failed", False)

    def test_aliyun_replies(self) -> None:
        illegal = outcome_of_reply("aliyun_sms", 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL"})
        assert (illegal.status, illegal.hard_bounce) == ("failed", True)
        limited = outcome_of_reply("aliyun_sms", 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"})
        assert limited.status == "retry"

    def test_generic_gone(self) -> None:
        assert bounce_in_reply("generic", 410, None)
        assert bounce_in_reply("generic", 400, {"hard_bounce": True})
        assert not bounce_in_reply("generic", 400, {"error": "bad payload"})


class TestRateLimit:
    def test_twenty_messages_at_a_hundred_per_second_take_a_fifth_of_a_second(
        self, sink: HttpSink
    ) -> None:
        with sender_for(sink, rate_per_second=100) as sender:
            started = time.monotonic()
            for _ in range(20):
                sender.send(envelope())
            elapsed = time.monotonic() - started
        assert elapsed >= 0.185
        assert len(sink.calls) == 20


class TestSendersFromSettings:
    def settings(self, tmp_path: Path, **values: Any) -> Settings:
        base: dict[str, Any] = {
            "home": tmp_path,
            "smtp_url": None,
            "sms_webhook_url": None,
            "push_webhook_url": None,
        }
        return Settings(**{**base, **values})

    def test_only_configured_channels_appear(self, tmp_path: Path) -> None:
        assert senders_from(self.settings(tmp_path)) == {}
        senders = senders_from(
            self.settings(
                tmp_path,
                smtp_url="smtp://127.0.0.1:2525",
                email_from="Shop <shop@example.com>",
                push_webhook_url="https://fcm.googleapis.com/v1/projects/p/messages:send",
                push_provider="fcm",
            )
        )
        assert sorted(senders) == ["email", "push"]
        assert isinstance(senders["email"], SmtpSender)
        push = senders["push"]
        assert isinstance(push, WebhookSender)
        assert (push.channel, push.provider) == ("push", "fcm")
        for sender in senders.values():
            sender.close()

    def test_bad_setting_is_a_config_error_naming_it(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="TENURE_SMS_WEBHOOK_URL: unknown provider"):
            senders_from(
                self.settings(tmp_path, sms_webhook_url="https://x/sms", sms_provider="nope")
            )
        with pytest.raises(ConfigError, match="TENURE_SMTP_URL"):
            senders_from(self.settings(tmp_path, smtp_url="smtp//oops"))

    def test_every_channel_names_its_setting(self) -> None:
        assert SETTING_OF == {
            "email": "TENURE_SMTP_URL",
            "sms": "TENURE_SMS_WEBHOOK_URL",
            "push": "TENURE_PUSH_WEBHOOK_URL",
        }
