"""Checks and converters of :class:`~asyncjobs.profiles.Profile`'s fields, and the headers its
``auth`` makes of a token (sans-I/O)."""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from asyncjobs._models import TRANSPORTS, Transport, as_transport

__all__ = [
    "check_auth",
    "check_grace",
    "check_paging",
    "frozen_headers",
    "takes_keyword",
    "to_transports",
    "token_headers",
]


def check_auth(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value in ("bearer", "basic", "none"):
        return
    if value.startswith("header:") and re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value[7:]):
        return
    raise ValueError(
        f"Profile auth must be 'bearer', 'basic', 'none' or 'header:<Name>', got {value!r}"
    )


def to_transports(value: Sequence[str]) -> tuple[Transport, ...]:
    result: list[Transport] = []
    for item in value:
        transport = as_transport(item)
        if transport is None:
            known = ", ".join(repr(name) for name in TRANSPORTS)
            raise ValueError(f"unknown transport {item!r}; known: {known}")
        result.append(transport)
    return tuple(result)


def frozen_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    return dict(value)


def check_paging(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("cursor", "offset"):
        raise ValueError(f"Profile paging must be 'cursor' or 'offset', got {value!r}")


def check_grace(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"Profile not_found_grace must be seconds >= 0, got {value!r}")


def takes_keyword(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` accepts the keyword argument ``name`` (or any, by ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD
        or (parameter.name == name and parameter.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for parameter in parameters
    )


def token_headers(auth: str, token: str, *, profile: str) -> dict[str, str]:
    """The headers that carry ``token`` the way ``auth`` says (see ``Profile.auth``).

    Raises:
        ValueError: ``auth`` is ``"none"``: the profile takes no token.
    """
    if auth == "bearer":
        return {"Authorization": f"Bearer {token}"}
    if auth == "basic":
        # "user:password" is both; a bare token is the user name with an empty password.
        credentials = token if ":" in token else f"{token}:"
        encoded = base64.b64encode(credentials.encode()).decode("ascii")
        return {"Authorization": f"Basic {encoded}"}
    if auth.startswith("header:"):
        return {auth[7:]: token}
    raise ValueError(
        f"the {profile!r} profile takes no token (auth='none'): pass credentials "
        "in headers= instead"
    )
