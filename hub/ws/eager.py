"""Run an awaitable at once, in the caller, until it first has to wait.

The fan-out path calls the ASGI server's ``send`` once per subscriber per
message. Handing each call to a writer task costs a task wake-up per
subscriber; yet a ``send`` to a client that keeps up never has to wait (the
frame goes straight into the transport's buffer). So the session starts the
send here, synchronously: most of the time it is finished before `start`
returns, and only when it does wait (the client's socket buffer is full) is
the rest of it handed to a task, as `Unfinished`, to await.

This is what Python 3.12's eager tasks do, without the cost of a task object
per call, and it makes no assumption about where the server's ``send`` waits:
whatever it did before waiting is done, whatever it does after is done by the
task that awaits `Unfinished`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any

Steps = Generator[Any, None, None]
"""An awaitable's iterator (`__await__()`): what a task drives step by step."""


class Unfinished:
    """The rest of an awaitable that `start` ran until it waited; await it once."""

    __slots__ = ("_steps", "_waiting_on")

    def __init__(self, steps: Steps, waiting_on: Any) -> None:
        self._steps = steps
        self._waiting_on = waiting_on

    def __await__(self) -> Steps:
        steps, waiting_on = self._steps, self._waiting_on
        while True:
            # Hand what the awaitable waits on to the task awaiting us; the
            # task resumes us when it is done, or throws in its cancellation.
            try:
                yield waiting_on
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:
                try:
                    waiting_on = steps.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting_on = steps.send(None)
            except StopIteration:
                return


def start(awaitable: Awaitable[None]) -> Unfinished | None:
    """Run `awaitable` until it is done (None) or first waits (its rest).

    Exceptions it raises before waiting propagate to the caller.
    """
    steps = awaitable.__await__()
    try:
        waiting_on = steps.send(None)
    except StopIteration:
        return None
    return Unfinished(steps, waiting_on)
