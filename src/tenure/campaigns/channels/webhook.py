"""SMS and push through a provider's HTTP API (or a relay): one POST per message.

The payload is shaped by the provider adapter (`providers.py`); every POST carries
`Idempotency-Key: <message_id>`, the same on every try. A 2xx is "sent"; 408, 429, a 5xx, a
timeout or a transport error is "retry"; any other status is "failed", with `hard_bounce` when
the provider says the number or token is bad for good.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from tenure.campaigns.channels.base import Envelope, Outcome, failed, retry
from tenure.campaigns.channels.providers import builder, outcome_of_reply
from tenure.campaigns.channels.ratelimit import bucket_for


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"webhook URL is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"webhook URL {_shown(parsed)!r} must be http(s)://host/…")
    return parsed


def _shown(url: httpx.URL) -> str:
    """The URL without credentials or query (which may hold an access token)."""
    return str(url.copy_with(username=None, password=None, query=None))


def _parsed(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


class WebhookSender:
    """One channel through one provider endpoint (see the module docstring). Thread-safe."""

    def __init__(
        self,
        channel: str,
        url: str,
        provider: str = "generic",
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        rate_per_second: float | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.channel = channel
        self.url = _checked_url(url)
        self.provider = provider
        self._build = builder(provider)
        self.timeout = timeout
        self._headers = {"User-Agent": "tenure-campaigns", **(headers or {})}
        self._bucket = bucket_for(rate_per_second)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def send(self, envelope: Envelope) -> Outcome:
        try:
            kind, body = self._build(envelope)
        except (KeyError, ValueError, TypeError) as exc:
            return failed(f"cannot build the {self.provider} payload: {exc}")
        headers = {**self._headers, "Idempotency-Key": envelope.message_id}
        if self._bucket is not None:
            self._bucket.acquire()
        where = _shown(self.url)
        try:
            if kind == "json":
                response = self._client.post(
                    self.url, json=body, headers=headers, timeout=self.timeout
                )
            else:
                response = self._client.post(
                    self.url, data=body, headers=headers, timeout=self.timeout
                )
        except httpx.TimeoutException:
            return retry(f"{where} did not answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return retry(f"cannot reach {where}: {type(exc).__name__}: {exc}")
        outcome = outcome_of_reply(self.provider, response.status_code, _parsed(response))
        after = response.headers.get("Retry-After")
        if outcome.status == "retry" and after:
            return retry(f"{outcome.reason} (Retry-After: {after})")
        return outcome

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
