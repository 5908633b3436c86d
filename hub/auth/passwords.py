"""Password hashing with Argon2id (argon2-cffi), and a dummy hash for timing.

Login answers unknown users and wrong passwords the same way and in about
the same time: an unknown user is checked against a dummy hash, so the KDF
runs either way.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("homi-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; False for a mismatch or an unknown user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
