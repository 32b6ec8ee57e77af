"""The event that the Server-Sent Events decoder (:mod:`._sse`) dispatches, and the builder it
makes each one with (sans-I/O).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

__all__ = ["ServerSentEvent"]


@attrs.frozen
class ServerSentEvent:
    """One dispatched Server-Sent Event.

    Attributes:
        event: The event type; ``"message"`` when the stream set none (or an empty one).
        data: The data lines of the event joined with ``"\\n"``.
        id: The last event ID as of this event's dispatch: the ``id`` of this event, or of the
            latest earlier one that set it (``""`` when none did or an empty ``id`` reset it).
        retry: The reconnection time in milliseconds that this event's own block set with a
            valid ``retry`` field, else None.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        """Return ``data`` parsed as JSON.

        Raises:
            json.JSONDecodeError: ``data`` is not valid JSON (a ``ValueError``).
        """
        return json.loads(self.data)


class _EventBuilder(ServerSentEvent):
    """An event under construction: the decoder sets its four slots by plain assignment (which
    the interpreter does inline, unlike attrs' frozen ``__init__``: a call a field), then makes
    it a :class:`ServerSentEvent` (``__class__`` assignment: same slots, nothing added). A field
    added to ServerSentEvent must be set wherever the decoder builds one (the tests compare
    decoded events with ones built by hand)."""

    __slots__ = ()
    __init__ = object.__init__  # made with no arguments: cheaper than object.__new__(cls)
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__
