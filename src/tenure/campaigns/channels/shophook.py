"""A journey's webhook step: POST the user and step to one of the shop's own systems."""

from __future__ import annotations

from typing import Any

import httpx

from tenure.campaigns.channels.base import Outcome

TIMEOUT = 10.0


def post_event(url: str, payload: dict[str, Any], message_id: str) -> Outcome:
    """POST JSON with the message id as Idempotency-Key; 5xx, 408, 429 and network errors retry."""
    try:
        response = httpx.post(
            url, json=payload, headers={"Idempotency-Key": message_id}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        return Outcome("retry", reason=f"{type(exc).__name__}: {exc}")
    if response.is_success:
        return Outcome("sent", provider_id=str(response.status_code))
    reason = f"HTTP {response.status_code}"
    if response.status_code in (408, 429) or response.status_code >= 500:
        return Outcome("retry", reason=reason)
    return Outcome("failed", reason=reason)
