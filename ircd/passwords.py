"""Argon2id password hashes for operators (and later connection passwords).

Only Argon2id hashes are accepted; plaintext never appears in config. Verification is
CPU-heavy on purpose, so `PasswordChecker` runs it in a worker thread and bounds how
many run at once: a burst of OPER attempts cannot starve the event loop or the pool.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")

#: What `python -m ircd hash-password` prints starts with this.
ARGON2ID_PREFIX = "$argon2id$"


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password` with argon2-cffi's default (RFC 9106) parameters."""
    return argon2.PasswordHasher(type=argon2.Type.ID).hash(password)


def check_hash_format(encoded: str) -> str | None:
    """Return None if `encoded` is a well-formed Argon2id hash, else what is wrong with it."""
    if not encoded.startswith(ARGON2ID_PREFIX):
        return "is not an Argon2id hash (it must start with $argon2id$)"
    try:
        argon2.extract_parameters(encoded)
    except InvalidHashError:
        return "is not a well-formed Argon2id hash"
    return None


def verify_password(encoded: str, password: str) -> bool:
    """Check `password` against an Argon2id hash in constant time (argon2 compares digests)."""
    try:
        return argon2.PasswordHasher(type=argon2.Type.ID).verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class PasswordChecker:
    """Runs `verify_password` off the event loop, at most `max_concurrent` at a time."""

    def __init__(self, max_concurrent: int = 2) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrent)
        # Checked when the oper name is unknown, so the reply takes as long as for a known
        # name and timing does not reveal which names exist. Made on first use.
        self._dummy_hash: str | None = None

    async def bounded(self, check: Awaitable[T]) -> T:
        """Await another check (e.g. the embedder's SASL account check) under the same bound."""
        async with self._semaphore:
            return await check

    async def verify(self, encoded: str | None, password: str) -> bool:
        """Return whether `password` matches; `encoded=None` burns the same time and fails."""
        async with self._semaphore:
            if encoded is None:
                if self._dummy_hash is None:
                    self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(16))
                await asyncio.to_thread(verify_password, self._dummy_hash, password)
                return False
            return await asyncio.to_thread(verify_password, encoded, password)
