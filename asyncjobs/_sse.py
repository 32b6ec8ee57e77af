"""A sans-I/O Server-Sent Events decoder: bytes in, events out.

It implements the WHATWG HTML "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
for any chunking of the byte stream, and it is written for speed: it sits on the hot path of
every job update the client receives.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import re
from typing import Any, Final

from ._exceptions import ProtocolError
from ._sse_event import ServerSentEvent, _EventBuilder

__all__ = ["SSEDecoder", "ServerSentEvent"]

_utf8_decode = codecs.utf_8_decode


class SSEDecoder:
    """Decode a ``text/event-stream`` byte stream into :class:`ServerSentEvent` objects.

    The decoder does no I/O: hand it the bytes as they arrive, in chunks of any size and split
    anywhere (between ``\\r`` and ``\\n``, inside a UTF-8 sequence), and it returns the events each
    chunk completed. It follows the WHATWG event-stream rules: LF, CRLF and CR line endings
    (mixed too), one leading byte order mark ignored at the start of the stream, ``:`` comments,
    invalid UTF-8 replaced by U+FFFD, ``id`` values containing NUL ignored, ``retry`` values that
    are not all ASCII digits ignored, blocks without ``data`` not dispatched, and an event
    dispatched as soon as the blank line that ends it arrives.

    Example::

        decoder = SSEDecoder()
        async for chunk in response.content.iter_any():
            for event in decoder.feed(chunk):
                handle(event.json())
        decoder.close()  # end of stream: the unfinished event, if any, is dropped

    Args:
        max_event_size: The longest line, and the longest ``data`` of one event, that the decoder
            accepts, in characters (bytes, for ASCII text). A stream that outgrows it raises
            :class:`~asyncjobs.ProtocolError` instead of growing memory without bound.
    """

    __slots__ = (
        "_bom",
        "_data",
        "_event",
        "_event_retry",
        "_id_buffer",
        "_last_event_id",
        "_line",
        "_line_size",
        "_max_event_size",
        "_more_data",
        "_pending",
        "_pending_size",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, *, max_event_size: int = 1_048_576) -> None:
        if max_event_size < 1:
            raise ValueError(f"max_event_size must be at least 1, got {max_event_size!r}")
        self._max_event_size = max_event_size
        self._last_event_id = ""
        self._retry: int | None = None
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._pending = b""  # an incomplete UTF-8 sequence at the end of the last chunk
        self._bom = True  # no character of the stream decoded yet: a BOM may still come
        self._skip_lf = False  # the last chunk ended with CR: a LF starting the next one pairs it
        self._line: list[str] = []  # pieces of the unterminated last line
        self._line_size = 0
        # The data lines of the event being built: the first one (None: no data line yet), then
        # the others; most events have one line, and this spares them a list and a join.
        self._data: str | None = None
        self._more_data: list[str] = []
        self._pending_size = 0  # the length of that data joined, plus 1 for the next "\n"
        self._event = ""
        self._event_retry: int | None = None
        # The spec's last event ID buffer. On a decoder reused for a reconnect it starts from the
        # last dispatched ID, as browsers do, rather than empty: events of the new connection
        # carry the ID the reconnect resumed from until the server sends another.
        self._id_buffer = self._last_event_id

    @property
    def last_event_id(self) -> str:
        """The last event ID as of the last dispatch: what a reconnect sends as ``Last-Event-ID``.

        A block that sets ``id`` without ``data`` still updates it when its blank line arrives
        (the spec's last event ID string), but an unfinished block does not.
        """
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The last valid ``retry`` value seen (milliseconds), or None if there was none."""
        return self._retry

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the stream.

        The unfinished event, if any, is dropped (the spec never dispatches an event that its
        blank line did not end), as are the unterminated line and any incomplete UTF-8 sequence.
        ``last_event_id`` and ``retry`` are kept, so the decoder can be reused for the next
        connection of a reconnect: send ``last_event_id`` as the ``Last-Event-ID`` header and
        feed the decoder that connection's bytes as a new stream (a byte order mark may start it
        again). Until the new stream sends an ``id``, its events carry the kept ID.

        Returns:
            An empty list: the end of the stream never completes an event. It is returned so that
            a caller can treat ``close()`` like a final ``feed()``.
        """
        self._reset_stream()
        return []

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Decode the next chunk of the stream.

        Args:
            chunk: The next bytes of the stream, of any length (empty is fine).

        Returns:
            The events this chunk completed, in stream order; often empty.

        Raises:
            ProtocolError: A line, or the data of one event, is longer than ``max_event_size``.
        """
        text = self._decode(chunk)
        if not text:
            return []
        limit = self._max_event_size
        end = text.rfind("\n") + 1  # past the last complete line
        line = self._line
        if not end:
            # No line ended: buffer the piece (a list, so a long line fed in small chunks
            # costs linear time, not quadratic).
            line.append(text)
            self._line_size += len(text)
            if self._line_size > limit:
                raise ProtocolError(_too_large("line", self._line_size, limit))
            return []
        tail = text[end:]
        check = len(text) + self._line_size + self._pending_size > limit
        if check:
            longest = max(self._line_size + text.find("\n"), max(map(len, text.split("\n"))))
            if longest > limit:
                raise ProtocolError(_too_large("line", longest, limit))
        events: list[ServerSentEvent] = []
        pos = 0
        if line:
            # The line begun in earlier chunks ends in this one.
            pos = text.find("\n") + 1
            line.append(text[: pos - 1])
            self._lines(["".join(line)], events, check)
            self._line = line = []
        match = _BLOCK.match
        runs = True
        while pos < end:
            # At the start of a line. Outside an event (nothing of one read yet but maybe its
            # id), blocks of the common form (``id:``, ``event:``, one ``data:`` line, each with
            # one space, then a blank line) are read by regular expression: a run of them with
            # all three fields by one findall() (_run, once a feed: lines of other forms cost
            # linear time), else a block a match; either builds what the line by line path
            # below would. Anything else (comments, retry, several data lines, other
            # spellings) takes that path, up to the end of its block.
            if self._data is None and not self._event and self._event_retry is None:
                if runs and text.startswith("id: ", pos) and _FULL_BLOCK(text, pos) is not None:
                    runs = False
                    pos = self._run(text, pos, end, events)
                    if pos >= end:
                        break
                found = match(text, pos)
                if found is not None:
                    dispatch = events.append
                    id_buffer = self._id_buffer
                    while found is not None:
                        event_id, event, data = found.groups()
                        if event_id is not None:
                            id_buffer = event_id
                        ev: Any = _EventBuilder()
                        ev.event = event or "message"
                        ev.data = data
                        ev.id = id_buffer
                        ev.retry = None
                        ev.__class__ = ServerSentEvent
                        dispatch(ev)
                        pos = found.end()
                        found = match(text, pos)
                    self._id_buffer = self._last_event_id = id_buffer
                    if pos >= end:
                        break
            if text[pos] == "\n":
                stop = pos + 1  # a blank line here
            else:
                blank = text.find("\n\n", pos, end)
                stop = end if blank < 0 else blank + 2
            self._lines(text[pos : stop - 1].split("\n"), events, check)
            pos = stop
        if tail:
            line.append(tail)
        self._line_size = len(tail)
        data = self._data
        if data is None:
            self._pending_size = 0
        else:
            more_data = self._more_data
            size = len(data) + sum(map(len, more_data)) + len(more_data)
            if size > limit:
                raise ProtocolError(_too_large("event", size, limit))
            self._pending_size = size + 1
        return events

    def _run(self, text: str, pos: int, end: int, events: list[ServerSentEvent]) -> int:
        """Read the blocks of the full common form (``id``, ``event``, one ``data`` line, then
        a blank line) from ``pos`` (outside an event) up to the last blank line before
        ``end``, as far as they go; return where they end (a line start)."""
        stop = text.rfind("\n\n", pos, end) + 2
        # One findall() cuts the whole span: every line that does not start such a block is a
        # match of its own (the ``other`` group), so the matches cover the span without a gap
        # and the first ``other`` is where the run ends.
        blocks = _FULL_RUN(text, pos, stop)
        dispatch = events.append
        first = len(events)
        kind = "message"  # the type of the last event: one object (its hash kept) for a run
        for event_id, event, data, other in blocks:
            if other:
                break
            if event != kind:
                kind = event or "message"
            ev: Any = _EventBuilder()
            ev.event = kind
            ev.data = data
            ev.id = event_id
            ev.retry = None
            ev.__class__ = ServerSentEvent
            dispatch(ev)
        else:
            self._id_buffer = self._last_event_id = blocks[-1][0]
            return stop
        count = len(events) - first
        if count:
            self._id_buffer = self._last_event_id = blocks[count - 1][0]
            pos += _FULL_FIXED * count + sum(map(len, _chain(blocks[:count])))
        return pos

    def _lines(self, lines: list[str], events: list[ServerSentEvent], check: bool) -> None:
        """Interpret complete lines (the general path), appending the events they dispatch."""
        limit = self._max_event_size
        dispatch = events.append
        data = self._data
        more_data = self._more_data
        event = self._event
        id_buffer = self._id_buffer
        last_event_id = self._last_event_id
        event_retry = self._event_retry
        # The "name: value" lines servers send are told apart by their first character, which
        # is cheaper than trying one prefix after another; all other lines (no space after the
        # colon, no colon, retry, unknown names) take the general path at the end.
        for line_ in lines:
            if not line_:
                last_event_id = id_buffer
                if data is not None:
                    if more_data:
                        more_data.insert(0, data)
                        data = "\n".join(more_data)
                        more_data = []
                    if check and len(data) > limit:
                        raise ProtocolError(_too_large("event", len(data), limit))
                    ev: Any = _EventBuilder()
                    ev.event = event or "message"
                    ev.data = data
                    ev.id = id_buffer
                    ev.retry = event_retry
                    ev.__class__ = ServerSentEvent
                    dispatch(ev)
                    data = None
                event = ""
                event_retry = None
                continue
            first = line_[0]
            if first == "d" and line_.startswith("data: "):
                if data is None:
                    data = line_[6:]
                else:
                    more_data.append(line_[6:])
            elif first == "i" and line_.startswith("id: "):
                if "\0" not in line_:
                    id_buffer = line_[4:]
            elif first == "e" and line_.startswith("event: "):
                event = line_[7:]
            elif first != ":":
                name, _, value = line_.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    if data is None:
                        data = value
                    else:
                        more_data.append(value)
                elif name == "id":
                    if "\0" not in value:
                        id_buffer = value
                elif name == "event":
                    event = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    # ValueError: more digits than int() accepts; no sane delay is that long.
                    with contextlib.suppress(ValueError):
                        self._retry = event_retry = int(value)
        self._data = data
        self._more_data = more_data
        self._event = event
        self._id_buffer = id_buffer
        self._last_event_id = last_event_id
        self._event_retry = event_retry

    def _decode(self, chunk: bytes | bytearray | memoryview) -> str:
        """``chunk`` as text: an incomplete UTF-8 sequence kept for the next chunk, the BOM
        that may start the stream dropped, and every line ending (CR, CRLF, a CR ending the
        last chunk then LF) made one LF."""
        if self._pending:
            chunk = self._pending + chunk
        text, consumed = _utf8_decode(chunk, "replace", False)
        self._pending = bytes(chunk[consumed:]) if consumed != len(chunk) else b""
        if not text:
            return ""
        if self._bom:
            self._bom = False
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return ""
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return ""
        if "\r" in text:
            if text[-1] == "\r":
                self._skip_lf = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text


_FULL: Final = r"id: ([^\n\0]*)\nevent: ([^\n]*)\ndata: ([^\n]*)\n\n"
_FULL_BLOCK: Final = re.compile(_FULL).match
_FULL_RUN: Final = re.compile(_FULL + r"|([^\n]*\n)").findall
"""A block of the full common form (``id`` without NUL, ``event``, one ``data`` line, then a
blank line), read by :meth:`SSEDecoder._run`: its findall() gives ``(id, event, data, "")`` for
such a block and ``("", "", "", line)`` for any other line."""

_FULL_FIXED: Final = len("id: \nevent: \ndata: \n\n")  # such a block's length besides its values

_chain = itertools.chain.from_iterable

_BLOCK: Final = re.compile(r"(?:id: ([^\n\0]*)\n)?(?:event: ([^\n]*)\n)?data: ([^\n]*)\n\n")
"""A block of the common form, as the fast path of :meth:`SSEDecoder.feed` reads it: an
optional ``id`` (without NUL, which the spec ignores), an optional ``event``, one ``data`` line,
the blank line. Its groups: the id, the event type, the data (None for an absent field)."""


def _too_large(what: str, size: int, limit: int) -> str:
    part = "a line of the event stream" if what == "line" else "the data of one event"
    return (
        f"SSE {what} too large: {part} grew to {size} characters, past max_event_size={limit}; "
        "raise max_event_size if the server's events are this large"
    )
