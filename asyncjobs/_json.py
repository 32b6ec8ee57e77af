"""The JSON decoder of event data: ``orjson`` when the ``fast`` extra is installed, else the
standard library, both giving the same values and raising the same errors (sans-I/O).

The backend is chosen when this module is imported (the fastest one installed) and can be
switched with :func:`use` or, for a block, :func:`using` (the tests run the converter and the
hostile streams with each backend). Code on the hot path takes :func:`decoder` once (when a
stream or a feed is made) rather than calling :func:`loads` per event.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "BACKENDS",
    "Backend",
    "available",
    "backend",
    "decoder",
    "loads",
    "scanner",
    "use",
    "using",
]

Backend: TypeAlias = Literal["orjson", "stdlib"]

BACKENDS: Final[tuple[Backend, ...]] = ("orjson", "stdlib")
"""Every backend, fastest first."""


def _too_deep(data: str) -> ValueError:
    # json.loads raises RecursionError on deeply nested input: a hostile payload is a
    # ValueError like any other invalid JSON, never an error the caller does not expect.
    return ValueError(f"JSON nested too deeply to decode ({len(data)} characters)")


def _std_loads() -> Callable[[str], Any]:
    """``json.loads`` for event data, minus its wrapping: the C scanner itself first (what
    ``raw_decode`` calls), whose result is ``json.loads``'s whenever it parsed the whole text;
    anything else (leading or trailing whitespace, trailing garbage, a BOM, invalid JSON) goes
    to ``json.loads`` itself, so what is returned or raised never differs. It spares ~1 us an
    event (a third of ``json.loads``)."""
    scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    slow_loads = json.loads

    def loads(data: str) -> Any:
        try:
            try:
                value, end = scan_once(data, 0)
            except (StopIteration, ValueError):
                return slow_loads(data)
            if end == len(data):
                return value
            return slow_loads(data)
        except RecursionError:
            raise _too_deep(data) from None

    return loads


def _orjson_loads() -> Callable[[str], Any] | None:
    """``orjson.loads``, with the standard library's decoder for what it refuses (NaN, lone
    surrogates, deep nesting, numbers past a double) and for any text holding a run of 19
    digits or more: orjson reads an integer past 64 bits as a float where ``json.loads`` keeps
    it exact, and the values must not depend on the backend (the look costs ~0.4 us of the
    ~1.5 us orjson spares). None when orjson is missing."""
    try:
        fast = importlib.import_module("orjson")
    except ImportError:
        return None
    fast_loads = fast.loads
    refused = fast.JSONDecodeError
    slow_loads = _std_loads()
    # Digits stay digits ("0"), every other byte becomes a space: a long number is a long run.
    digits = bytes(48 if 48 <= code <= 57 else 32 for code in range(256))
    long_number = b"0" * 19

    def loads(data: str) -> Any:
        if long_number in data.encode("utf-8", "surrogatepass").translate(digits):
            return slow_loads(data)
        try:
            return fast_loads(data)
        except refused:
            return slow_loads(data)

    return loads


_SCAN_ONCE: Final = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

_DECODERS: Final[dict[Backend, Callable[[str], Any]]] = {"stdlib": _std_loads()}
if (_fast := _orjson_loads()) is not None:
    _DECODERS["orjson"] = _fast

_current: Callable[[str], Any] = _DECODERS.get("orjson") or _DECODERS["stdlib"]
_current_name: Backend = "orjson" if "orjson" in _DECODERS else "stdlib"


def available() -> tuple[Backend, ...]:
    """The backends installed, fastest first (``"stdlib"`` always)."""
    return tuple(name for name in BACKENDS if name in _DECODERS)


def backend() -> Backend:
    """The backend in use."""
    return _current_name


def use(name: Backend | None) -> None:
    """Decode with ``name`` from now on (None: the fastest installed). Streams and feeds made
    before keep the decoder they took.

    Raises:
        ValueError: ``name`` is not installed (or not a backend).
    """
    global _current, _current_name
    if name is None:
        name = available()[0]
    found = _DECODERS.get(name)
    if found is None:
        raise ValueError(f"JSON backend {name!r} is not available (installed: {available()})")
    _current, _current_name = found, name


@contextmanager
def using(name: Backend | None) -> Iterator[None]:
    """:func:`use` ``name`` for the block, then the backend used before."""
    previous = _current_name
    use(name)
    try:
        yield
    finally:
        use(previous)


def scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    """The standard library's C scanner when it is the backend in use (else None), for a hot
    path that inlines :func:`decoder`: ``scan(text, 0)`` returns the value and where it ended,
    and whenever that is not the end of the text, or it raises ``StopIteration`` or
    ``RecursionError``, :func:`decoder` must be called to say what the text is."""
    return _SCAN_ONCE if _current_name == "stdlib" else None


def decoder() -> Callable[[str], Any]:
    """The decoding function of the backend in use: takes one JSON text (``str``), returns its
    value, raises ``ValueError`` for anything that is not one JSON text."""
    return _current


def loads(data: str) -> Any:
    """Parse one JSON text (``str``) with the backend in use.

    Raises:
        ValueError: ``data`` is not one JSON text (``json.JSONDecodeError`` or orjson's).
    """
    return _current(data)
