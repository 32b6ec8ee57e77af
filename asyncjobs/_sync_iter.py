"""Plain iterators over the client's async iterators: :class:`SyncIterator`, driven in the
loop of a :class:`~asyncjobs.SyncClient`'s blocking portal."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import anyio
import attrs
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._closing import ClosedOnExit

__all__ = ["SyncIterator"]

T = TypeVar("T")


@attrs.frozen
class _Item(Generic[T]):
    value: T


@attrs.frozen
class _Raised:
    error: BaseException


class _Driver(Generic[T]):
    """The loop's side of a :class:`SyncIterator`: runs the async iterator in one task.

    It holds no reference to its SyncIterator, so that dropping the SyncIterator (a ``break``)
    lets it be collected, and its ``__del__`` closes the driver.
    """

    def __init__(self) -> None:
        self.finished = threading.Event()
        self.loop_thread: int | None = None
        self._requests: MemoryObjectSendStream[None]
        self._results: MemoryObjectReceiveStream[_Item[T] | _Raised]

    async def run(
        self, factory: Callable[[], AsyncIterator[T]], *, task_status: TaskStatus[None]
    ) -> None:
        """Create the async iterator, then advance it once per request, until it ends."""
        self.loop_thread = threading.get_ident()
        requests_send, requests_receive = anyio.create_memory_object_stream[None](1)
        results_send, results_receive = anyio.create_memory_object_stream[_Item[T] | _Raised](1)
        self._requests = requests_send
        self._results = results_receive
        streams = (requests_send, requests_receive, results_send, results_receive)
        try:
            iterator = factory()
        except BaseException:
            for stream in streams:
                stream.close()
            self.finished.set()
            raise
        task_status.started()
        try:
            async for _ in requests_receive:
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    await results_send.send(_Raised(exc))
                    return
                await results_send.send(_Item(item))
        finally:
            for stream in streams:  # a next() waiting on them gets None at once
                stream.close()
            try:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()
            finally:
                self.finished.set()

    async def next(self) -> _Item[T] | _Raised | None:
        """Ask for the next item; None once the iterator has ended or was closed."""
        try:
            await self._requests.send(None)
            return await self._results.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None


class SyncIterator(Iterator[T], ClosedOnExit):
    """A plain iterator over an async iterator of :class:`Client`, driven in the portal's loop.

    The async iterator runs from start to end inside one task of the loop, and advances only
    when :meth:`__next__` asks for the next item; its exceptions are raised by ``next()``
    unchanged. Breaking out of a ``for`` loop over it closes it as soon as it is dropped; call
    :meth:`close` (or use it as a context manager) to close it at a precise point, e.g. while
    you still hold a reference. Closing cancels the async iterator if it is busy, closes it (its
    ``finally`` blocks run, its connections are released) and returns once nothing of it is left
    running in the loop. A ``next()`` blocked in another thread then raises ``StopIteration``.
    """

    def __init__(
        self,
        portal: BlockingPortal,
        factory: Callable[[], AsyncIterator[T]],
        on_close: Callable[[SyncIterator[Any]], None] | None = None,
    ) -> None:
        self._portal = portal
        self._next_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closed = False
        self._on_close = on_close
        self._driver: _Driver[T] = _Driver()
        self._task: Future[None]
        self._task, _ = portal.start_task(self._driver.run, factory)

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        with self._next_lock:
            if self._closed:
                raise StopIteration
            try:
                outcome = self._portal.call(self._driver.next)
            except RuntimeError:
                if self._closed or self._driver.finished.is_set():
                    raise StopIteration from None
                raise
        if isinstance(outcome, _Item):
            return outcome.value
        self.close()
        if isinstance(outcome, _Raised):
            raise outcome.error
        raise StopIteration

    def close(self) -> None:
        """Close the underlying async iterator and wait until it has finished; idempotent."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
        if not self._task.done():
            self._task.cancel()  # cancels the driving task in the loop
        if threading.get_ident() != self._driver.loop_thread:
            self._driver.finished.wait()
        if self._on_close is not None:
            self._on_close(self)

    def __del__(self) -> None:
        # Dropped without close(), e.g. by a `break`: close it. (In the loop's own thread, a
        # garbage collection there, close() cancels without waiting, so it cannot deadlock.)
        if not getattr(self, "_closed", True) and hasattr(self, "_task"):
            with contextlib.suppress(Exception):
                self.close()
