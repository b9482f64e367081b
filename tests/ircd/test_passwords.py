"""Tests of ircd.passwords: Argon2id only, verification off the loop and bounded."""

from __future__ import annotations

import asyncio

import argon2

from ircd.passwords import PasswordChecker, check_hash_format, hash_password, verify_password
from ircd.sources import FailurePenalties

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
    assert checker._free == 1 and checker.waiting() == 0  # every slot was released
    assert checker.started == 3


async def test_unknown_name_still_does_the_work_and_fails() -> None:
    assert await PasswordChecker().verify(None, "anything") is False


class Order:
    """Checks that record when they ran, the first one held until released."""

    def __init__(self, checker: PasswordChecker) -> None:
        self.checker = checker
        self.ran: list[str] = []
        self.gate = asyncio.Event()
        self.tasks: list[asyncio.Task[str]] = []

    async def _check(self, name: str, held: bool) -> str:
        self.ran.append(name)
        if held:
            await self.gate.wait()
        return name

    async def queue(self, name: str, source: str, *, held: bool = False) -> None:
        task = asyncio.create_task(self.checker.bounded(self._check(name, held), source))
        self.tasks.append(task)
        await asyncio.sleep(0)  # it reaches the queue (or its slot) before the next

    async def finish(self) -> list[str]:
        self.gate.set()
        await asyncio.gather(*self.tasks)
        return self.ran


async def test_a_source_without_failures_goes_before_those_that_failed() -> None:
    penalties, now = FailurePenalties(10, 600), 1000.0
    checker = PasswordChecker(1, penalties, lambda: now)
    order = Order(checker)
    await order.queue("running", "192.0.2.1", held=True)
    for i in range(50):
        source = f"198.51.100.{i}"
        penalties.failed(source, now)
        await order.queue(f"guess{i}", source)
    await order.queue("owner", "203.0.113.7")
    assert checker.waiting() == 51
    ran = await order.finish()
    assert ran[:2] == ["running", "owner"]
    assert checker._free == 1 and checker.waiting() == 0


async def test_sources_take_turns() -> None:
    checker = PasswordChecker(1)
    order = Order(checker)
    await order.queue("running", "192.0.2.1", held=True)
    for i in range(5):
        await order.queue(f"a{i}", "192.0.2.9")
    await order.queue("b", "192.0.2.10")
    ran = await order.finish()
    assert ran == ["running", "a0", "b", "a1", "a2", "a3", "a4"]


async def test_a_cancelled_wait_gives_up_its_place_and_no_slot() -> None:
    checker = PasswordChecker(1)
    order = Order(checker)
    await order.queue("running", "192.0.2.1", held=True)
    await order.queue("gone", "192.0.2.2")
    await order.queue("next", "192.0.2.3")
    order.tasks[1].cancel()
    order.tasks.pop(1)
    ran = await order.finish()
    assert ran == ["running", "next"]
    assert checker._free == 1 and checker.waiting() == 0
