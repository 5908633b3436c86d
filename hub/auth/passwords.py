"""Password hashing with Argon2id (argon2-cffi), and a dummy hash for timing.

Login answers unknown users and wrong passwords the same way and in about
the same time: an unknown user is checked against a dummy hash, so the KDF
runs either way.

Argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB per check),
so the hub never runs it on its event loop: a burst of logins would freeze
every websocket of the process for that long. `check_password` runs it in a
worker thread (argon2-cffi releases the GIL), at most `CONCURRENT_CHECKS` at
a time, so a burst costs bounded memory and waits its turn instead.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_LENGTH = 1024
CONCURRENT_CHECKS = 4
"""Password checks running at once per process; more wait for a free slot."""

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


# A pool of its own rather than asyncio's default one: its size is the bound,
# and it belongs to no event loop (tests and the CLI run several in turn).
_checkers = ThreadPoolExecutor(CONCURRENT_CHECKS, thread_name_prefix="password-check")


async def check_password(password_hash: str | None, password: str) -> bool:
    """`verify_password` in a worker thread, so the event loop keeps serving."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _checkers, verify_password, password_hash, password
    )
