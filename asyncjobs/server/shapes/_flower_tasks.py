"""The flower shape's task side: what each registered task does, and Flower's views of tasks.

The built-in tasks are small Python functions called with the submitted ``args`` and
``kwargs``, so a wrong call fails as Python's own call would (``add() missing 1 required
positional argument: 'y'``). Each returns a :class:`Plan`: how long the task runs and what it
returns or raises. ``tasks.add(x, y)`` returns ``x + y`` at once; ``tasks.sleep(seconds,
result=None)`` runs ``seconds`` and returns ``result``; ``tasks.fail(message="boom",
seconds=0)`` runs ``seconds`` and raises ``ValueError(message)``. Any other registered name
accepts any arguments and returns None at once.

:func:`list_tasks` is Flower's ``/api/tasks`` selection (its ``iter_tasks``): newest event
first, then a stable sort by ``sort_by``, then the filters, ``offset`` and ``limit``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "BUILT_IN_TASKS",
    "SORT_KEYS",
    "Plan",
    "check_call",
    "exception_of",
    "list_tasks",
    "plan_of",
]

_EXCEPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Failed|Failure|Exit)")


@attrs.frozen(kw_only=True)
class Plan:
    """What a task run does: run ``duration`` seconds, then return ``result`` or raise
    ``error`` (``"ValueError: boom"``: the exception's class, ``": "``, its message)."""

    duration: float = 0.0
    result: Any = None
    error: str | None = None


def add(x: Any, y: Any) -> Plan:
    """``tasks.add``: ``x + y``, at once."""
    return Plan(result=x + y)


def sleep(seconds: Any, result: Any = None) -> Plan:
    """``tasks.sleep``: ``result`` after ``seconds``."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as a number")
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    return Plan(duration=float(seconds), result=result)


def fail(message: Any = "boom", seconds: Any = 0) -> Plan:
    """``tasks.fail``: raises ``ValueError(message)`` after ``seconds``."""
    ran = sleep(seconds)
    return Plan(duration=ran.duration, error=f"ValueError: {message}")


BUILT_IN_TASKS: Mapping[str, Callable[..., Plan]] = {
    "tasks.add": add,
    "tasks.sleep": sleep,
    "tasks.fail": fail,
}
"""The tasks with a behaviour, by name (the default registered names)."""


def check_call(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Check the arguments fit the task, as Celery's ``apply_async`` does before sending.

    Raises:
        TypeError: they do not.
    """
    function = BUILT_IN_TASKS.get(name)
    if function is not None:
        inspect.signature(function).bind(*args, **kwargs)


def plan_of(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Plan:
    """What the worker does with the task: its plan, or a failure with the exception raised."""
    function = BUILT_IN_TASKS.get(name)
    if function is None:
        return Plan()
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # the task raised: it fails with that exception
        return Plan(error=f"{type(exc).__name__}: {exc}")


def exception_of(error: str, task_name: str) -> tuple[str, str]:
    """``(exception, traceback)`` as Celery reports them for a failure reason.

    ``"ValueError: boom"`` gives ``"ValueError('boom')"`` and a traceback ending in that line;
    a reason without an exception's name is an ``Exception``.
    """
    head, sep, tail = error.partition(": ")
    name, message = (
        (head, tail) if sep and _EXCEPTION_NAME.fullmatch(head) else ("Exception", error)
    )
    function = task_name.rpartition(".")[2] or "run"
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/app/celery/app/trace.py", line 453, in trace_task\n'
        "    R = retval = fun(*args, **kwargs)\n"
        f'  File "/app/tasks.py", line 12, in {function}\n'
        f"    raise {name}(message)\n"
        f"{name}: {message}\n"
    )
    return f"{name}({message!r})", traceback


SORT_KEYS: Mapping[str, Callable[[], Any]] = {
    "name": str,
    "state": str,
    "received": float,
    "started": float,
}
"""Flower's ``sort_by`` keys and the value a task without one sorts as."""


def list_tasks(
    tasks: Iterable[Mapping[str, Any]],
    *,
    limit: int | None,
    offset: int,
    sort_by: str | None,
    state: str | None,
    taskname: str | None,
    workername: str | None,
) -> Iterator[Mapping[str, Any]]:
    """Flower's selection of ``/api/tasks`` over task dicts (``uuid``, ``name``, ``state``,
    ``received``, ``started``, ``timestamp``, ``worker``...).

    Newest last event first; a ``sort_by`` key (``-`` for descending) sorts stably on top of
    that; then ``taskname``, ``workername`` and ``state`` filter, ``offset`` skips and
    ``limit`` stops (Flower's loop, ``limit=0`` quirks included).

    Raises:
        ValueError: an unknown ``sort_by`` key (Flower fails the request with 500).
    """
    ordered = sorted(tasks, key=lambda task: task["timestamp"] or 0.0, reverse=True)
    if sort_by is not None:
        key = sort_by.lstrip("-")
        if key not in SORT_KEYS:
            raise ValueError(f"sort_by: expected one of {sorted(SORT_KEYS)}, got {sort_by!r}")
        empty = SORT_KEYS[key]
        ordered.sort(key=lambda task: task[key] or empty(), reverse=sort_by.startswith("-"))
    seen = 0
    for task in ordered:
        if taskname and task["name"] != taskname:
            continue
        if workername and task["worker"] and task["worker"] != workername:
            continue
        if state and task["state"] != state:
            continue
        if seen >= offset:
            yield task
        seen += 1
        if limit is not None and seen == limit + offset:
            break
