"""The argparse types of the command line's numbers: one rule, a value in range or a usage
error that says what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from asyncjobs.cli._options import count_arg, hours_arg, seconds_arg


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (seconds_arg, "0.5", 0.5),
        (seconds_arg, "inf", float("inf")),
        (count_arg, "0", 0),
        (count_arg, " 7 ", 7),
        (hours_arg, "1", 1),
        (hours_arg, "168", 168),
    ],
)
def test_a_number_in_range_is_read(parse: Callable[[str], Any], text: str, value: Any) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (seconds_arg, "0", "a number of seconds > 0"),
        (seconds_arg, "-1", "a number of seconds > 0"),
        (seconds_arg, "nan", "a number of seconds > 0"),
        (seconds_arg, "soon", "a number of seconds > 0"),
        (count_arg, "-1", "an integer >= 0"),
        (count_arg, "1.5", "an integer >= 0"),
        (hours_arg, "0", "whole hours 1..168"),
        (hours_arg, "169", "whole hours 1..168"),
        (hours_arg, "day", "whole hours 1..168"),
    ],
)
def test_anything_else_is_a_usage_error_saying_what_was_expected(
    parse: Callable[[str], Any], text: str, expected: str
) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse(text)
    assert str(caught.value) == f"expected {expected}, got {text!r}"
