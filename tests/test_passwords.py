"""Password checks: right and wrong answers, and the event loop stays free."""

from __future__ import annotations

import asyncio

from hub.auth.passwords import check_password, hash_password, verify_password


def test_right_password_passes_and_everything_else_fails() -> None:
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "Correct horse")
    assert not verify_password(stored, "")
    assert not verify_password(None, "correct horse")  # unknown user
    assert not verify_password("not-a-hash", "correct horse")


async def test_checks_run_beside_the_event_loop_not_on_it() -> None:
    # While a burst of Argon2 checks runs, the loop keeps turning: with the
    # checks on the loop itself, not one tick would happen until all are done.
    stored = hash_password("correct horse")
    ticks = 0
    checks_done = False

    async def tick() -> None:
        nonlocal ticks
        while not checks_done:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = ticks
    results = await asyncio.gather(
        *(check_password(stored, guess) for guess in ["correct horse", "wrong"] * 4)
    )
    checks_done = True
    await ticker
    assert results == [True, False] * 4
    assert ticks - started > 8
