"""The API shapes the reference server can serve besides the native protocol, and their registry.

Each shape serves one built-in client profile's real routes on the shared job store: one module
per API (``_compileo`` with its stream in ``_compileo_stream``, ``_dataiku``, ``_fiddler``,
``_job_management``, ``_mammoth``, ``_ray``, ``_flower`` with its task catalogue in
``_flower_tasks``, its rendering in ``_flower_view`` and its reading of request arguments in
``_flower_arguments``) on the base in ``_base``. Each name
is a built-in client profile's name; ``create_app(profile=...)`` and ``JobServer(profile=...)``
take it, or a :class:`Shape` subclass of one's own (docs/custom-shapes.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Handler, Shape, ShapedStore, naive_time
from ._compileo import CompileoShape
from ._dataiku import DataikuShape
from ._fiddler import FiddlerShape
from ._flower import FlowerShape
from ._job_management import JobManagementShape
from ._mammoth import MammothShape
from ._ray import RayShape

__all__ = [
    "NATIVE_BASE_PATH",
    "SHAPES",
    "CompileoShape",
    "DataikuShape",
    "FiddlerShape",
    "FlowerShape",
    "Handler",
    "JobManagementShape",
    "MammothShape",
    "RayShape",
    "Shape",
    "ShapedStore",
    "base_path_for",
    "get_shape",
    "naive_time",
]

NATIVE_BASE_PATH = "/api/v1"
"""Where the native routes are mounted."""

SHAPES: Mapping[str, type[Shape]] = {
    shape.name: shape
    for shape in (
        CompileoShape,
        JobManagementShape,
        MammothShape,
        FiddlerShape,
        DataikuShape,
        RayShape,
        FlowerShape,
    )
}
"""Every shape by profile name (``native`` is served by the native routes, not a shape)."""


def get_shape(profile: str | type[Shape]) -> type[Shape] | None:
    """The shape serving ``profile``: a built-in profile's name or a :class:`Shape` subclass
    (a custom API's shape, returned as it is); None for ``"native"``.

    Raises:
        ValueError: no such profile (the message lists the known ones).
        TypeError: ``profile`` is neither a name nor a Shape subclass.
    """
    if isinstance(profile, type):
        if not issubclass(profile, Shape) or profile is Shape:
            raise TypeError(
                f"profile: expected a profile name or a Shape subclass, got {profile.__name__}"
            )
        if not isinstance(getattr(profile, "name", None), str):
            raise TypeError(f"profile: {profile.__name__} must set the class attribute 'name'")
        return profile
    if not isinstance(profile, str):
        raise TypeError(
            f"profile: expected a profile name or a Shape subclass, got {type(profile).__name__}"
        )
    if profile == "native":
        return None
    shape = SHAPES.get(profile)
    if shape is None:
        known = ", ".join(repr(name) for name in ("native", *SHAPES))
        raise ValueError(f"profile: the server cannot serve {profile!r}; known: {known}")
    return shape


def base_path_for(profile: str | type[Shape], options: Mapping[str, Any] | None = None) -> str:
    """The path of the base URL a client of ``profile`` is given (e.g. ``/api/v2``).

    Raises:
        ValueError: an unknown profile, or options the profile's shape does not take.
        TypeError: ``profile`` is neither a name nor a Shape subclass.
    """
    shape = get_shape(profile)
    if shape is None:
        if options:
            raise ValueError("profile_options: the 'native' profile takes no options")
        return NATIVE_BASE_PATH
    return shape.base_path(shape.check_options(options))
