"""Tests of ircd.passwords: Argon2id only, verification off the loop and bounded."""

from __future__ import annotations

import asyncio

import argon2

from ircd.passwords import PasswordChecker, check_hash_format, hash_password, verify_password

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_hash_is_argon2id_and_verifies() -> None:
    encoded = hash_password("pw")
    assert encoded.startswith("$argon2id$")
    assert check_hash_format(encoded) is None
    assert verify_password(encoded, "pw")
    assert not verify_password(encoded, "PW")


def test_other_formats_rejected() -> None:
    assert check_hash_format("plaintext") is not None
    assert check_hash_format("$2b$12$abcdefghijklmnopqrstuv") is not None
    argon2i = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=argon2.Type.I)
    assert check_hash_format(argon2i.hash("x")) is not None
    assert check_hash_format("$argon2id$garbage") is not None
    assert not verify_password("$argon2id$garbage", "x")


async def test_checker_bounds_concurrency() -> None:
    checker = PasswordChecker(max_concurrent=1)
    encoded = CHEAP.hash("pw")
    results = await asyncio.gather(*(checker.verify(encoded, p) for p in ["pw", "no", "pw"]))
    assert results == [True, False, True]
    assert checker._semaphore._value == 1  # every slot was released


async def test_unknown_name_still_does_the_work_and_fails() -> None:
    assert await PasswordChecker().verify(None, "anything") is False
