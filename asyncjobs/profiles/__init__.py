"""Profiles: where each operation of a job API lives and how its payloads become models.

A :class:`Profile` is sans-I/O data plus small hooks (see :mod:`._base`); this package holds
the type, the field readers that profiles share, one module per built-in API, and the registry
of built-in profiles by name. Every built-in module imports only :mod:`._base` and
:mod:`._fields`, so any of them can be imported first.

The readers a custom profile needs are public here: :func:`status_from_word` (every API's status
words, plus the profile's own), and the field readers that raise a :class:`ProtocolError` naming
the field (:func:`field_id`, :func:`field_text`, :func:`field_number`, :func:`field_time` for
ISO 8601 and the other spellings servers use, :func:`epoch_seconds`, :func:`epoch_ms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from asyncjobs._models import Transport, status_from_word

from ._base import OPERATIONS, Profile, Route
from ._compileo import COMPILEO
from ._dataiku import DATAIKU
from ._fiddler import FIDDLER
from ._fields import (
    as_object,
    epoch_ms,
    epoch_seconds,
    field_id,
    field_number,
    field_text,
    field_time,
)
from ._flower import FLOWER
from ._job_management import JOB_MANAGEMENT
from ._mammoth import MAMMOTH
from ._native import NATIVE
from ._ray import RAY

__all__ = [
    "COMPILEO",
    "DATAIKU",
    "FIDDLER",
    "FLOWER",
    "JOB_MANAGEMENT",
    "MAMMOTH",
    "NATIVE",
    "OPERATIONS",
    "PROFILES",
    "RAY",
    "Profile",
    "Route",
    "Transport",
    "as_object",
    "epoch_ms",
    "epoch_seconds",
    "field_id",
    "field_number",
    "field_text",
    "field_time",
    "get_profile",
    "status_from_word",
]

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (NATIVE, COMPILEO, JOB_MANAGEMENT, MAMMOTH, FIDDLER, DATAIKU, RAY, FLOWER)
    }
)
"""The built-in profiles by name (read-only)."""


def get_profile(profile: str | Profile) -> Profile:
    """Resolve ``Client(profile=...)``: a built-in profile's name or a :class:`Profile`.

    Raises:
        ValueError: no built-in profile has that name (the message lists the known ones).
        TypeError: ``profile`` is neither a string nor a Profile.
    """
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        found = PROFILES.get(profile)
        if found is None:
            known = ", ".join(repr(name) for name in sorted(PROFILES))
            raise ValueError(f"unknown profile {profile!r}; known profiles: {known}")
        return found
    raise TypeError(f"profile must be a profile name or a Profile, got {type(profile).__name__}")
