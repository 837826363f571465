"""Provider adapters for webhook channels: the payload each expects and how to read its reply.

`PROVIDERS[name](envelope)` gives `(kind, body)`: kind "json" (posted as JSON) or "form"
(posted form-encoded). `outcome_of_reply(name, status, body)` reads an HTTP reply into an
Outcome; it knows the providers that answer 200 with an error inside (WeChat's `errcode`,
Aliyun's `Code`) and the replies that mean the address is bad for good (`bounce_in_reply`).

| provider | posts | an address bad for good |
|---|---|---|
| generic | `{id, channel, to, text, title, url, locale, data}` | 410, or `{"hard_bounce": true}` |
| twilio | form To, Body, From, MessagingServiceSid | error code 21211, 21614, 21610 |
| fcm | FCM HTTP v1 `{"message": {token, notification, data}}` | UNREGISTERED, SENDER_ID_MISMATCH |
| wechat_template | `{touser, template_id, url, data: {k: {value}}}` | errcode 43004, 40003 |
| aliyun_sms | form PhoneNumbers, SignName, TemplateCode, TemplateParam | MOBILE_NUMBER_ILLEGAL |
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from tenure.campaigns.channels.base import Envelope, Outcome, failed, retry, sent

Kind = Literal["json", "form"]
Builder = Callable[[Envelope], tuple[Kind, Any]]


def _required(envelope: Envelope, key: str) -> Any:
    value = envelope.data.get(key)
    if value in (None, ""):
        raise ValueError(f"the {envelope.channel} message needs data[{key!r}]")
    return value


def generic(envelope: Envelope) -> tuple[Kind, Any]:
    """Tenure's own shape, for a relay the operator writes."""
    return "json", {
        "id": envelope.message_id,
        "channel": envelope.channel,
        "to": envelope.to,
        "text": envelope.text,
        "title": envelope.title,
        "url": envelope.url,
        "locale": envelope.locale,
        "data": dict(envelope.data),
    }


def twilio(envelope: Envelope) -> tuple[Kind, Any]:
    """Twilio's Messages resource (form-encoded); From and MessagingServiceSid from data
    when there (a relay may add its own)."""
    form = {"To": envelope.to, "Body": envelope.text}
    if envelope.data.get("from"):
        form["From"] = str(envelope.data["from"])
    if envelope.data.get("messaging_service_sid"):
        form["MessagingServiceSid"] = str(envelope.data["messaging_service_sid"])
    return "form", form


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fcm(envelope: Envelope) -> tuple[Kind, Any]:
    """Firebase Cloud Messaging HTTP v1 (`projects/<id>/messages:send`); data values are text."""
    notification = {"body": envelope.text}
    if envelope.title:
        notification["title"] = envelope.title
    data = {str(key): _as_text(value) for key, value in envelope.data.items()}
    if envelope.url:
        data["url"] = envelope.url
    data["message_id"] = envelope.message_id
    return "json", {"message": {"token": envelope.to, "notification": notification, "data": data}}


def wechat_template(envelope: Envelope) -> tuple[Kind, Any]:
    """A WeChat Official Account template message (`cgi-bin/message/template/send`)."""
    fields = envelope.data.get("fields")
    if isinstance(fields, Mapping) and fields:
        values = {str(key): {"value": _as_text(value)} for key, value in fields.items()}
    else:
        values = {"first": {"value": envelope.title or ""}, "remark": {"value": envelope.text}}
    body: dict[str, Any] = {
        "touser": envelope.to,
        "template_id": _required(envelope, "template_id"),
        "data": values,
        "client_msg_id": envelope.message_id,  # WeChat drops a repeat with the same id
    }
    if envelope.url:
        body["url"] = envelope.url
    return "json", body


def aliyun_sms(envelope: Envelope) -> tuple[Kind, Any]:
    """Alibaba Cloud SMS SendSms parameters (for a relay that signs the call)."""
    params = envelope.data.get("template_param") or {}
    return "form", {
        "PhoneNumbers": envelope.to,
        "SignName": _required(envelope, "sign_name"),
        "TemplateCode": _required(envelope, "template_code"),
        "TemplateParam": json.dumps(dict(params), ensure_ascii=False, sort_keys=True),
        "OutId": envelope.message_id,
    }


PROVIDERS: dict[str, Builder] = {
    "generic": generic,
    "twilio": twilio,
    "fcm": fcm,
    "wechat_template": wechat_template,
    "aliyun_sms": aliyun_sms,
}


def builder(provider: str) -> Builder:
    """The payload builder of a provider; ValueError lists the known ones."""
    try:
        return PROVIDERS[provider]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"unknown provider {provider!r}; known: {known}") from None


# Replies that mean the recipient is gone for good.
_TWILIO_BAD_NUMBER = {21211, 21614, 21610}  # invalid number, not mobile, unsubscribed (STOP)
_FCM_BAD_TOKEN = {"UNREGISTERED", "SENDER_ID_MISMATCH"}
_WECHAT_BAD_USER = {43004, 40003}  # not following the account, invalid openid
_ALIYUN_BAD_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL"}
# 200 replies with an error inside that clear by themselves.
_WECHAT_TRANSIENT = {-1, 45009, 42001}  # system busy, rate limit, access token expired
_ALIYUN_TRANSIENT = {"isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL", "Throttling"}


def _fcm_codes(body: Any) -> set[str]:
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return set()
    codes = {str(error.get("status", ""))}
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping) and detail.get("errorCode"):
            codes.add(str(detail["errorCode"]))
    return codes


def _field(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, Mapping) else None


def bounce_in_reply(provider: str, status: int, body: Any) -> bool:
    """Whether a reply says the address (number, token, open id) is bad for good."""
    if provider == "generic":
        return status == 410 or _field(body, "hard_bounce") is True
    if provider == "twilio":
        return _field(body, "code") in _TWILIO_BAD_NUMBER
    if provider == "fcm":
        return bool(_fcm_codes(body) & _FCM_BAD_TOKEN)
    if provider == "wechat_template":
        return _field(body, "errcode") in _WECHAT_BAD_USER
    if provider == "aliyun_sms":
        return _field(body, "Code") in _ALIYUN_BAD_NUMBER
    return False


def _error_in_success(provider: str, body: Any) -> tuple[str, bool] | None:
    """(reason, transient) when a 2xx reply reports a failure."""
    if provider == "wechat_template":
        code = _field(body, "errcode")
        if code not in (None, 0):
            reason = f"errcode {code}: {_field(body, 'errmsg') or ''}".strip()
            return reason, code in _WECHAT_TRANSIENT
    if provider == "aliyun_sms":
        code = _field(body, "Code")
        if code is not None and code != "OK":
            reason = f"{code}: {_field(body, 'Message') or ''}".strip()
            return reason, code in _ALIYUN_TRANSIENT
    return None


def _provider_id(body: Any) -> str | None:
    for key in ("id", "sid", "msgid", "name", "BizId"):
        value = _field(body, key)
        if value not in (None, ""):
            return str(value)
    return None


def _summary(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return " ".join(text.split())[:200]


def outcome_of_reply(provider: str, status: int, body: Any) -> Outcome:
    """Read an HTTP reply (body parsed from JSON when it was JSON, else its text): 2xx sent,
    408/429/5xx retry, any other status failed (a hard bounce when the provider says so)."""
    if 200 <= status < 300:
        error = _error_in_success(provider, body)
        if error is None:
            return sent(_provider_id(body))
        reason, transient = error
        if transient:
            return retry(f"HTTP {status} {reason}")
        return failed(
            f"HTTP {status} {reason}", hard_bounce=bounce_in_reply(provider, status, body)
        )
    reason = f"HTTP {status}" + (f": {_summary(body)}" if body not in (None, "") else "")
    if status in (408, 429) or status >= 500:
        return retry(reason)
    return failed(reason, hard_bounce=bounce_in_reply(provider, status, body))
