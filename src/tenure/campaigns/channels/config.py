"""The senders this installation has, built from settings: only configured channels appear."""

from __future__ import annotations

from collections.abc import Callable

from tenure.campaigns.channels.base import Sender
from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.channels.webhook import WebhookSender
from tenure.config import Settings
from tenure.errors import ConfigError

# The setting to set for each channel (for the `campaign_channel_unconfigured` error).
SETTING_OF = {
    "email": "TENURE_SMTP_URL",
    "sms": "TENURE_SMS_WEBHOOK_URL",
    "push": "TENURE_PUSH_WEBHOOK_URL",
}


def senders_from(settings: Settings) -> dict[str, Sender]:
    """channel → sender for every channel whose setting is present; close them when done.
    A malformed URL or an unknown provider is a ConfigError naming the setting."""
    wanted: dict[str, Callable[[], Sender]] = {}
    if settings.smtp_url:
        smtp_url = settings.smtp_url
        wanted["email"] = lambda: SmtpSender(
            smtp_url, settings.email_from, connections=settings.campaign_send_threads,
            rate_per_second=settings.email_rate_per_second,
        )  # fmt: skip
    if settings.sms_webhook_url:
        sms_url = settings.sms_webhook_url
        wanted["sms"] = lambda: WebhookSender(
            "sms", sms_url, settings.sms_provider, rate_per_second=settings.sms_rate_per_second
        )
    if settings.push_webhook_url:
        push_url = settings.push_webhook_url
        wanted["push"] = lambda: WebhookSender(
            "push", push_url, settings.push_provider, rate_per_second=settings.push_rate_per_second
        )
    senders: dict[str, Sender] = {}
    for channel, make in wanted.items():
        try:
            senders[channel] = make()
        except ValueError as exc:
            for sender in senders.values():
                sender.close()
            setting = SETTING_OF[channel] + (" / TENURE_EMAIL_FROM" if channel == "email" else "")
            raise ConfigError(detail=f"{setting}: {exc}") from exc
    return senders
