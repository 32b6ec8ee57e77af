"""Bounded concurrency: run a coroutine per item with at most N at once (sans-I/O helper)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["run_bounded"]

_T = TypeVar("_T")


async def run_bounded(
    items: Sequence[_T], function: Callable[[_T], Awaitable[None]], limit: int
) -> None:
    """Call ``function`` on every item, at most ``limit`` at once; the first error cancels the
    rest and is raised (every task has ended when this returns or raises)."""
    if not items:
        return
    if len(items) == 1 or limit <= 1:
        for item in items:
            await function(item)
        return
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            await function(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
