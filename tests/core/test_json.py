"""The JSON decoder of event data (``asyncjobs._json``): each backend gives what ``json.loads``
gives, and raises a ``ValueError`` for what is not one JSON text, hostile input included."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from asyncjobs import _json

VALID = [
    '{"id": "j", "status": "running", "version": 3}',
    '{"a": 1, "a": 2}',  # a repeated key: the last one wins
    '  {"padded": true}\n',  # whitespace around the text
    "[1, 2.5, -0.0, 1e-7, null, true, false]",
    '"\\u00e9t\\u00e9 \\ud83d\\ude00"',
    '"\\ud800"',  # a lone surrogate (orjson refuses it: the standard library decodes it)
    str(2**70),  # past 64 bits (orjson reads it as a float: the standard library decodes it)
    str(-(2**63) - 1),
    '{"result": {"digest": 123456789012345678901234567890}, "version": 3}',
    "[NaN, Infinity, -Infinity]",  # not JSON, yet json.loads takes it (likewise)
    "1e400",
    '{"nested": ' * 50 + "1" + "}" * 50,
]

INVALID = [
    "",
    " ",
    "{not json",
    '{"id": "j"} trailing',
    '{"id": "j"}{"id": "k"}',
    '\ufeff{"id": "j"}',  # a byte order mark
    '{"id": "run',
    "[1, 2",
    "[" * 100_000,  # nested past any recursion limit
    "[" * 100_000 + "]" * 100_000,
]


def same(a: Any, b: Any) -> bool:
    """Equal, NaN included."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", VALID)
def test_each_backend_decodes_what_json_loads_decodes(text: str, json_backend: str) -> None:
    assert same(_json.loads(text), json.loads(text))
    assert same(_json.decoder()(text), json.loads(text))


@pytest.mark.parametrize("text", INVALID, ids=lambda text: repr(text[:20]))
def test_each_backend_raises_a_value_error_for_what_is_not_json(
    text: str, json_backend: str
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the type is the contract, not a message)
        _json.loads(text)


def test_the_backend_in_use_is_switched_and_restored(json_backend: str) -> None:
    assert _json.backend() == json_backend
    with _json.using("stdlib"):
        assert _json.backend() == "stdlib"
        assert _json.decoder() is not None
    assert _json.backend() == json_backend
    assert "stdlib" in _json.available()


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="'ujson' is not available"):
        _json.use("ujson")  # type: ignore[arg-type]
