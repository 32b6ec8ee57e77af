"""A base for objects that are their own context manager and whose exit is a call to
:meth:`close`: :class:`ClosedOnExit`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["ClosedOnExit"]


class ClosedOnExit:
    """``with obj:`` gives ``obj`` itself and calls ``obj.close()`` when the block is left,
    however it is left (the exception, if any, goes on). Subclasses define :meth:`close`."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the object holds (each subclass says what)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
