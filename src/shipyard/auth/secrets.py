"""Random secrets (keys, client secrets, signing keys) and how they are stored: hashed.

Every secret Shipyard issues is 32 random bytes, so a plain SHA-256 is enough to store it
(no dictionary to attack, unlike passwords chosen by people); it also keeps verification
in microseconds on the scoring path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random

_PREFIX = "sha256:"


def new_secret(prefix: str = "") -> str:
    """A new URL-safe random secret (256 bits), with an optional readable prefix."""
    return f"{prefix}{_random.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """The stored form of `secret`."""
    return _PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, hashes: list[str] | tuple[str, ...]) -> bool:
    """Whether `secret` matches one of `hashes`, compared in constant time."""
    presented = hash_secret(secret)
    found = False
    for stored in hashes:
        found |= hmac.compare_digest(presented, stored)
    return found
