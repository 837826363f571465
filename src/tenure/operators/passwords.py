"""Password hashing with scrypt (standard library): memory-hard, salted, parameters stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

# RFC 7914's interactive-login parameters: 16 MiB and ~50 ms per check on one core.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
SCHEME = "scrypt"


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$digest`, both hex."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"{SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        actual = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual.hex(), digest)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong name costs as long as a wrong
    password and the answer's timing does not tell which names exist."""
    return hash_password(secrets.token_hex(8))
