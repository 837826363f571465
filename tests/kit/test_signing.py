"""Signed link tokens and the key file behind them."""

import multiprocessing
import os
import stat
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from tenure.kit.signing import SignatureInvalid, load_or_create_key, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)


def flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


class TestRoundTrip:
    def test_payload_with_chinese_values_comes_back(self) -> None:
        payload: dict[str, str | int] = {"user": "用户-张三", "campaign": "春节大促", "step": 3}
        token = sign(KEY, "unsubscribe", payload)
        assert verify(KEY, "unsubscribe", token, NOW) == payload

    def test_token_is_url_safe_and_compact(self) -> None:
        token = sign(KEY, "click", {"u": "用户", "m": "msg_01", "n": 12})
        assert set(token) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        )
        assert len(token.split(".")[1]) == 32

    def test_token_before_its_expiry_is_accepted(self) -> None:
        token = sign(KEY, "click", {"m": "msg_01"}, expires_at=NOW + timedelta(days=30))
        assert verify(KEY, "click", token, NOW + timedelta(days=29, hours=23)) == {"m": "msg_01"}


class TestRefused:
    def test_tampered_body_is_refused(self) -> None:
        token = sign(KEY, "click", {"u": "用户-张三"})
        with pytest.raises(SignatureInvalid, match="bad_signature"):
            verify(KEY, "click", flip(token, 3), NOW)

    def test_tampered_signature_is_refused(self) -> None:
        token = sign(KEY, "click", {"u": "user_1"})
        with pytest.raises(SignatureInvalid, match="bad_signature"):
            verify(KEY, "click", flip(token, len(token) - 1), NOW)

    def test_other_key_is_refused(self) -> None:
        token = sign(KEY, "click", {"u": "user_1"})
        with pytest.raises(SignatureInvalid, match="bad_signature"):
            verify(b"x" * 32, "click", token, NOW)

    def test_token_for_another_purpose_is_refused(self) -> None:
        token = sign(KEY, "click", {"u": "user_1"})
        with pytest.raises(SignatureInvalid, match="bad_signature"):
            verify(KEY, "unsubscribe", token, NOW)

    def test_expired_token_is_refused(self) -> None:
        token = sign(KEY, "click", {"u": "user_1"}, expires_at=NOW)
        with pytest.raises(SignatureInvalid, match="expired"):
            verify(KEY, "click", token, NOW)

    @pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "a.b.c", "é." + "A" * 32])
    def test_malformed_token_is_refused(self, token: str) -> None:
        with pytest.raises(SignatureInvalid, match="malformed"):
            verify(KEY, "click", token, NOW)

    def test_signature_invalid_is_a_value_error(self) -> None:
        assert issubclass(SignatureInvalid, ValueError)

    def test_reserved_claim_and_naive_expiry_are_refused_when_signing(self) -> None:
        with pytest.raises(ValueError, match="reserved"):
            sign(KEY, "click", {"exp": 1})
        with pytest.raises(ValueError, match="timezone-aware"):
            sign(KEY, "click", {}, expires_at=datetime(2026, 1, 1))


def create_key(path: str, barrier: Barrier, queue: "Queue[bytes]") -> None:
    barrier.wait()  # all start at once, so they race on the missing file
    queue.put(load_or_create_key(Path(path)))


class TestKeyFile:
    def test_key_is_created_private_and_then_reused(self, tmp_path: Path) -> None:
        path = tmp_path / "keys" / "signing.key"
        key = load_or_create_key(path)
        assert len(key) == 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_or_create_key(path) == key
        assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    def test_a_creator_that_loses_the_race_returns_the_winners_key(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "signing.key"
        winner = b"w" * 32
        link = os.link

        def competitor_links_first(source: str, target: str) -> None:
            path.write_bytes(winner)
            link(source, target)

        monkeypatch.setattr(os, "link", competitor_links_first)
        assert load_or_create_key(path) == winner
        assert list(tmp_path.iterdir()) == [path]

    def test_processes_creating_the_key_at_once_get_the_same_key(self, tmp_path: Path) -> None:
        path = tmp_path / "signing.key"
        context = multiprocessing.get_context("spawn")
        count = 4
        barrier = context.Barrier(count)
        queue = context.Queue()
        workers = [
            context.Process(target=create_key, args=(str(path), barrier, queue))
            for _ in range(count)
        ]
        for worker in workers:
            worker.start()
        keys = [queue.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert len(set(keys)) == 1
        assert path.read_bytes() == keys[0]
