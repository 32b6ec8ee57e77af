"""Tests of the sans-I/O SSE decoder against the WHATWG event-stream rules."""

from __future__ import annotations

import itertools
import json
import re

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asyncjobs.sse
from asyncjobs._exceptions import ProtocolError
from asyncjobs.sse import ServerSentEvent, SSEDecoder

E = ServerSentEvent


def feed_all(decoder: SSEDecoder, chunks: list[bytes]) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def decode(stream: bytes | str) -> list[ServerSentEvent]:
    if isinstance(stream, str):
        stream = stream.encode()
    return SSEDecoder().feed(stream)


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(points), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# --- a literal reference implementation of the spec, for the property tests ---------------------


@attrs.define
class Reference:
    """The spec's algorithm written out line by line, with no care for speed."""

    events: list[ServerSentEvent] = attrs.field(factory=list)
    data: str = ""
    event_type: str = ""
    id_buffer: str = ""
    last_event_id: str = ""
    retry: int | None = None
    event_retry: int | None = None

    def run(self, stream: bytes) -> Reference:
        text = stream.decode("utf-8", errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        # The text after the last line ending is an incomplete line: discarded at end of stream.
        for line in re.split(r"\r\n|\r|\n", text)[:-1]:
            self.process(line)
        return self

    def process(self, line: str) -> None:
        if line == "":
            self.dispatch()
            return
        if line.startswith(":"):
            return
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            self.event_type = value
        elif field == "data":
            self.data += value + "\n"
        elif field == "id":
            if "\0" not in value:
                self.id_buffer = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            self.retry = self.event_retry = int(value)

    def dispatch(self) -> None:
        self.last_event_id = self.id_buffer
        if self.data == "":
            self.event_type = ""
            self.event_retry = None
            return
        if self.data.endswith("\n"):
            self.data = self.data[:-1]
        self.events.append(
            ServerSentEvent(
                event=self.event_type or "message",
                data=self.data,
                id=self.last_event_id,
                retry=self.event_retry,
            )
        )
        self.data = ""
        self.event_type = ""
        self.event_retry = None


# --- the public module ----------------------------------------------------------------------------


def test_public_module_exports_the_decoder_and_the_event() -> None:
    """asyncjobs.sse exports exactly SSEDecoder and ServerSentEvent."""
    assert sorted(asyncjobs.sse.__all__) == ["SSEDecoder", "ServerSentEvent"]
    for name in asyncjobs.sse.__all__:
        assert getattr(asyncjobs.sse, name) is not None


def test_event_defaults_and_immutability() -> None:
    """ServerSentEvent defaults to a "message" with empty data and id, and is frozen."""
    event = ServerSentEvent()
    assert event == ServerSentEvent(event="message", data="", id="", retry=None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.data = "x"  # type: ignore[misc]


def test_decoded_events_are_plain_equal_hashable_events() -> None:
    """An event the decoder builds equals, hashes and prints like one built by hand."""
    (event,) = decode("id: 7\nevent: job\nretry: 5\ndata: x\n\n")
    expected = ServerSentEvent(event="job", data="x", id="7", retry=5)
    assert type(event) is ServerSentEvent
    assert event == expected
    assert hash(event) == hash(expected)
    assert repr(event) == repr(expected)
    assert attrs.asdict(event) == {"event": "job", "data": "x", "id": "7", "retry": 5}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.id = "8"  # type: ignore[misc]


def test_json_parses_the_data() -> None:
    """ServerSentEvent.json() returns the data parsed as JSON."""
    assert ServerSentEvent(data='{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="not json").json()


@pytest.mark.parametrize("size", [0, -1])
def test_max_event_size_must_be_positive(size: int) -> None:
    """A max_event_size below 1 is refused at construction."""
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(max_event_size=size)


# --- the spec's examples --------------------------------------------------------------------------


def test_spec_example_multi_line_data() -> None:
    """The spec's stock-ticker example: three data lines joined with LF."""
    assert decode("data: YHOO\ndata: +2\ndata: 10\n\n") == [E(data="YHOO\n+2\n10")]


def test_spec_example_test_stream() -> None:
    """The spec's four-block example: comment, id set, id reset, leading space kept."""
    stream = (
        ": test stream\n"
        "\n"
        "data: first event\n"
        "id: 1\n"
        "\n"
        "data:second event\n"
        "id\n"
        "\n"
        "data:  third event\n"
        "\n"
    )
    decoder = SSEDecoder()
    assert decoder.feed(stream.encode()) == [
        E(data="first event", id="1"),
        E(data="second event", id=""),
        E(data=" third event", id=""),
    ]
    assert decoder.last_event_id == ""


def test_spec_example_empty_data_and_single_newline() -> None:
    """ "data" alone gives empty data, two of them one LF; the unterminated block is dropped."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data\n\ndata\ndata\n\ndata:") == [E(data=""), E(data="\n")]
    assert decoder.close() == []


def test_spec_example_space_after_colon_is_optional() -> None:
    """ "data:test" and "data: test" are the same event."""
    assert decode("data:test\n\ndata: test\n\n") == [E(data="test"), E(data="test")]


# --- line endings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "eol",
    [
        pytest.param(["\n"], id="LF"),
        pytest.param(["\r\n"], id="CRLF"),
        pytest.param(["\r"], id="CR"),
        pytest.param(["\r\n", "\n", "\r"], id="mixed"),
        pytest.param(["\r", "\r\n"], id="CR-then-CRLF"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 1000])
def test_every_line_ending_style(eol: list[str], chunk_size: int) -> None:
    """LF, CRLF and CR end lines, mixed freely, whatever the chunking."""
    lines = ["id: 1", "event: a", "data: x", "data: y", "", ": c", "data: z", "", "", "data: u"]
    stream = "".join(line + eol[i % len(eol)] for i, line in enumerate(lines)).encode()
    chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
    assert feed_all(SSEDecoder(), chunks) == [
        E(event="a", data="x\ny", id="1"),
        E(data="z", id="1"),
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"data: a\r", b"\ndata: b\r\n\r\n"),
        (b"data: a\r\n\r", b"\n"),
        (b"data: a\r\n", b"\r\n"),
        (b"data: a\r", b"\n\r\n"),
    ],
)
def test_crlf_split_across_feeds_is_one_line_ending(first: bytes, second: bytes) -> None:
    """A CR ending one chunk and the LF starting the next are one line ending, not two."""
    decoder = SSEDecoder()
    events = decoder.feed(first) + decoder.feed(second)
    expected = [E(data="a\nb")] if b"b" in second else [E(data="a")]
    assert events == expected


def test_cr_ending_a_chunk_dispatches_at_once() -> None:
    """A blank line ended by CR dispatches in the same feed, without waiting for a possible LF."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [E(data="a")]
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [E(data="b")]


def test_lone_lf_after_cr_chunk_boundary_is_swallowed_only_once() -> None:
    """After a chunk ending in CR, only one LF is taken as its pair; a second is a blank line."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [E(data="a")]


# --- byte order mark and UTF-8 --------------------------------------------------------------------


def test_bom_at_start_is_ignored() -> None:
    """One leading UTF-8 BOM is ignored."""
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [E(data="a")]


@pytest.mark.parametrize("split", [1, 2, 3, 4])
def test_bom_split_across_feeds_is_ignored(split: int) -> None:
    """A BOM cut across chunks is still recognised."""
    stream = b"\xef\xbb\xbfdata: a\n\n"
    assert feed_all(SSEDecoder(), [stream[:split], stream[split:]]) == [E(data="a")]


def test_only_one_bom_is_stripped() -> None:
    """A second BOM belongs to the first line: the field name "\\ufeffdata" is unknown."""
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [E(data="b")]


def test_bom_later_in_the_stream_is_data() -> None:
    """A BOM after the start is an ordinary character."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [E(data="a")]
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n") == [E(data="\ufeffc")]


@pytest.mark.parametrize("text", ["é", "€", "😀", "日本語", "a\u0000b"])
def test_multibyte_character_split_at_every_byte(text: str) -> None:
    """A UTF-8 sequence cut anywhere across feeds decodes to the same character."""
    stream = f"data: {text}\n\n".encode()
    for cut in range(len(stream) + 1):
        assert feed_all(SSEDecoder(), [stream[:cut], stream[cut:]]) == [E(data=text)]
    assert feed_all(SSEDecoder(), [bytes([b]) for b in stream]) == [E(data=text)]


def test_invalid_utf8_is_replaced() -> None:
    """Invalid UTF-8 becomes U+FFFD, like the spec's UTF-8 decode."""
    assert decode(b"data: a\xffb\xc3\n\n") == [E(data="a\ufffdb\ufffd")]


def test_incomplete_utf8_sequence_is_dropped_at_close() -> None:
    """Bytes of an unfinished sequence are not carried into the next stream after close()."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n\xe2\x82") == [E(data="a")]
    decoder.close()
    assert decoder.feed(b"data: b\n\n") == [E(data="b")]


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_feed_accepts_any_bytes_like(kind: type) -> None:
    """feed() takes bytes, bytearray and memoryview alike."""
    decoder = SSEDecoder()
    assert decoder.feed(kind(b"data: \xc3")) == []
    assert decoder.feed(kind(b"\xa9\n\n")) == [E(data="é")]


# --- fields ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(": hello\ndata: a\n\n", [E(data="a")], id="comment-line"),
        pytest.param(":\n\ndata: a\n\n", [E(data="a")], id="empty-comment-then-blank"),
        pytest.param(":data: x\n\n", [], id="comment-that-looks-like-data"),
        pytest.param("data:a\n\n", [E(data="a")], id="no-space"),
        pytest.param("data:  a\n\n", [E(data=" a")], id="only-one-space-removed"),
        pytest.param("data: a \n\n", [E(data="a ")], id="trailing-space-kept"),
        pytest.param("data: a:b: c\n\n", [E(data="a:b: c")], id="colons-in-value"),
        pytest.param("data\n\n", [E(data="")], id="no-colon-empty-value"),
        pytest.param("data:\n\n", [E(data="")], id="empty-value"),
        pytest.param("data: a\ndata\ndata: b\n\n", [E(data="a\n\nb")], id="empty-middle-line"),
        pytest.param("data: a\ndata:\n\n", [E(data="a\n")], id="empty-last-line"),
        pytest.param("Data: a\n\n", [], id="names-are-case-sensitive"),
        pytest.param("data : a\n\n", [], id="space-before-colon-is-another-name"),
        pytest.param("foo: bar\ndata: a\nbaz\n\n", [E(data="a")], id="unknown-fields-ignored"),
        pytest.param("event: x\ndata: a\n\n", [E(event="x", data="a")], id="event-type"),
        pytest.param("event:\ndata: a\n\n", [E(data="a")], id="empty-event-type-is-message"),
        pytest.param("event\ndata: a\n\n", [E(data="a")], id="event-without-colon"),
        pytest.param("event: x\nevent: y\ndata: a\n\n", [E(event="y", data="a")], id="last-wins"),
        pytest.param("event: x\n\ndata: a\n\n", [E(data="a")], id="type-reset-without-data"),
        pytest.param("id: 1\ndata: a\n\n", [E(data="a", id="1")], id="id"),
        pytest.param("id:1\ndata: a\n\n", [E(data="a", id="1")], id="id-no-space"),
        pytest.param("id: a\x00b\ndata: a\n\n", [E(data="a")], id="id-with-nul-ignored"),
        pytest.param("id:\x00\ndata: a\n\n", [E(data="a")], id="id-nul-no-space-ignored"),
        pytest.param(
            "id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n",
            [E(data="a", id="1"), E(data="b", id="1")],
            id="id-with-nul-keeps-previous",
        ),
        pytest.param(
            "id: 1\ndata: a\n\nid:\ndata: b\n\n",
            [E(data="a", id="1"), E(data="b", id="")],
            id="empty-id-resets",
        ),
        pytest.param(
            "id: 1\ndata: a\n\ndata: b\n\n",
            [E(data="a", id="1"), E(data="b", id="1")],
            id="id-persists",
        ),
        pytest.param(
            "id: 1\n\ndata: b\n\n", [E(data="b", id="1")], id="id-without-data-still-counts"
        ),
    ],
)
def test_field_rules(stream: str, expected: list[ServerSentEvent]) -> None:
    """Field parsing follows the spec line by line."""
    assert decode(stream) == expected
    assert Reference().run(stream.encode()).events == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3000", 3000),
        ("0", 0),
        ("007", 7),
        ("10a", None),
        ("", None),
        (" 10", None),
        ("-1", None),
        ("+1", None),
        ("1.5", None),
        ("1e3", None),
        ("١٢", None),  # Arabic-Indic digits are digits, not ASCII digits
        ("²", None),
        ("1_000", None),
    ],
)
def test_retry_takes_ascii_digits_only(value: str, expected: int | None) -> None:
    """Retry is set only by a value of ASCII digits; it shows on the decoder and the event."""
    decoder = SSEDecoder()
    events = decoder.feed(f"retry: {value}\ndata: a\n\n".encode())
    assert decoder.retry == expected
    assert events == [E(data="a", retry=expected)]


def test_retry_persists_on_the_decoder_but_not_on_later_events() -> None:
    """An invalid retry keeps the previous value; event.retry is the event's own block only."""
    decoder = SSEDecoder()
    seen = [decoder.retry]
    assert decoder.feed(b"retry: 3000\n\n") == []
    seen.append(decoder.retry)
    events = decoder.feed(b"data: a\n\nretry: 10a\ndata: b\n\nretry: 50\ndata: c\n\n")
    seen.append(decoder.retry)
    assert events == [E(data="a"), E(data="b"), E(data="c", retry=50)]
    assert seen == [None, 3000, 50]


def test_absurdly_long_retry_is_ignored() -> None:
    """A retry with more digits than int() takes is ignored rather than crashing."""
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: a\n\n") == [E(data="a")]
    assert decoder.retry is None


# --- dispatch -------------------------------------------------------------------------------------


def test_block_without_data_is_not_dispatched() -> None:
    """A block with no data line dispatches nothing and resets the event type."""
    decoder = SSEDecoder()
    assert decoder.feed(b"event: x\nid: 5\n\n\n\n") == []
    assert decoder.feed(b"data: a\n\n") == [E(data="a", id="5")]


def test_event_type_resets_after_dispatch() -> None:
    """The event type applies to one event only."""
    assert decode("event: job\ndata: a\n\ndata: b\n\n") == [E(event="job", data="a"), E(data="b")]


def test_event_is_dispatched_when_its_blank_line_arrives() -> None:
    """The event comes out of the feed that completes its blank line, not later."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [E(data="a")]
    assert decoder.feed(b"data: b\n\nda") == [E(data="b")]
    assert decoder.feed(b"ta: c\n") == []
    assert decoder.feed(b"\ndata: d") == [E(data="c")]


def test_many_events_in_one_chunk_come_out_in_order() -> None:
    """Every event a chunk completes is returned, in stream order."""
    stream = "".join(f'id: {n}\nevent: job\ndata: {{"n": {n}}}\n\n' for n in range(500))
    events = decode(stream)
    assert [event.json()["n"] for event in events] == list(range(500))
    assert [event.id for event in events] == [str(n) for n in range(500)]


def test_last_event_id_is_the_id_as_of_the_last_dispatch() -> None:
    """last_event_id changes when a blank line ends a block, not when the id line arrives."""
    decoder = SSEDecoder()
    assert decoder.last_event_id == ""
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"data: b\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"\n")
    assert decoder.last_event_id == "2"
    decoder.feed(b"data: c\n\n")
    assert decoder.last_event_id == "2"
    decoder.feed(b"id: 3\n\n")  # no data: nothing dispatched, but the id counts
    assert decoder.last_event_id == "3"
    decoder.feed(b"id\n\n")
    assert decoder.last_event_id == ""


def test_close_drops_the_unfinished_event() -> None:
    """At end of stream the event without its blank line is dropped, with its id."""
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\nid: 2\nevent: x\ndata: b\n") == [E(data="a", id="1")]
    assert decoder.close() == []
    assert decoder.last_event_id == "1"


def test_close_then_reuse_for_a_reconnect() -> None:
    """After close() the decoder starts a new stream and keeps last_event_id and retry."""
    decoder = SSEDecoder()
    decoder.feed(b"retry: 1500\nid: 7\ndata: a\n\nid: 8\ndata: partial")
    decoder.close()
    assert (decoder.last_event_id, decoder.retry) == ("7", 1500)
    # The new stream may start with a BOM again; its events carry the kept id until one is sent.
    events = decoder.feed(b"\xef\xbb\xbfdata: b\n\nid: 9\ndata: c\n\n")
    assert events == [E(data="b", id="7"), E(data="c", id="9")]
    assert decoder.close() == []


def test_close_forgets_a_pending_cr() -> None:
    """A CR at the end of the old stream does not swallow a LF starting the new one."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    decoder.close()
    assert decoder.feed(b"\ndata: b\n\n") == [E(data="b")]


# --- max_event_size -------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 10, 100, 10_000])
def test_long_line_without_newline_raises(chunk_size: int) -> None:
    """An unterminated line growing past the limit raises instead of buffering forever."""
    decoder = SSEDecoder(max_event_size=1000)
    chunks = [b"x" * chunk_size] * (2000 // chunk_size + 1)
    with pytest.raises(ProtocolError, match=r"line too large.*max_event_size=1000"):
        feed_all(decoder, chunks)


@pytest.mark.parametrize("chunk_size", [7, 100, 100_000])
def test_event_of_many_data_lines_raises(chunk_size: int) -> None:
    """An event whose data grows past the limit raises, however it is chunked."""
    stream = b"data: 0123456789\n" * 200 + b"\n"
    decoder = SSEDecoder(max_event_size=1000)
    chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
    with pytest.raises(ProtocolError, match=r"event too large.*max_event_size=1000"):
        feed_all(decoder, chunks)


def test_endless_event_raises_as_soon_as_its_data_passes_the_limit() -> None:
    """Data lines that never meet a blank line raise when their data passes the limit."""
    decoder = SSEDecoder(max_event_size=1000)
    # Each line adds 10 characters plus the "\n" joining it: 91 lines make exactly 1000.
    for _ in range(91):
        assert decoder.feed(b"data: 0123456789\n") == []
    with pytest.raises(ProtocolError, match=r"event too large.*1011 characters.*=1000"):
        decoder.feed(b"data: 0123456789\n")


@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param(
            b"data: " + b"x" * 90, b"x" * 10 + b"\n\n", id="line-completed-by-a-small-chunk"
        ),
        pytest.param(b"data: " + b"x" * 90 + b"\n", b"data: yyyyyyyyyy\n\n", id="event-completed"),
    ],
)
def test_small_last_chunk_completing_an_oversized_event_raises(first: bytes, last: bytes) -> None:
    """The limit counts what earlier chunks left pending, not just the chunk at hand."""
    decoder = SSEDecoder(max_event_size=100)
    assert decoder.feed(first) == []
    with pytest.raises(ProtocolError, match="too large"):
        decoder.feed(last)


def test_long_complete_line_in_one_chunk_raises() -> None:
    """A line longer than the limit raises even when it arrives whole."""
    with pytest.raises(ProtocolError, match=r"line too large.*max_event_size=100\b"):
        SSEDecoder(max_event_size=100).feed(b": " + b"x" * 200 + b"\n\n")


def test_events_up_to_the_limit_pass() -> None:
    """Data and lines of exactly max_event_size characters are accepted."""
    decoder = SSEDecoder(max_event_size=100)
    one_line = b"data:" + b"x" * 95 + b"\n\n"
    many_lines = b"data:" + b"y" * 49 + b"\ndata:" + b"z" * 50 + b"\n\n"
    stream = one_line + many_lines
    expected = [E(data="x" * 95), E(data="y" * 49 + "\n" + "z" * 50)]
    assert decoder.feed(stream) == expected
    for size in (1, 3, 64):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert feed_all(SSEDecoder(max_event_size=100), chunks) == expected


# --- properties -----------------------------------------------------------------------------------

_NAMES = st.sampled_from(["data", "data", "data", "id", "event", "retry", "", "foo", "dat", "DATA"])
_VALUES = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["", " ", "  x", "1000", "12a", "٣", "a\x00b", ":", "é😀", "\ufeff"]),
    st.integers(0, 10**6).map(str),
)
_SEPARATORS = st.sampled_from([": ", ":", ":  ", ""])
_EOLS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 12))
    if kind <= 1:
        return ""
    if kind >= 10:
        # Whole blocks of the common form (the decoder's fast path), ending in a data line
        # whose line ending (and the blank line, or not) the stream adds.
        fields = []
        if draw(st.booleans()):
            fields.append("id: " + draw(_VALUES))
        if draw(st.booleans()):
            fields.append("event: " + draw(_VALUES))
        fields.append("data: " + draw(_VALUES))
        eol = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
        return eol.join(fields) + (eol if draw(st.booleans()) else "")
    if kind == 2:
        return ":" + draw(_VALUES)
    name, sep, value = draw(_NAMES), draw(_SEPARATORS), draw(_VALUES)
    return name + sep + (value if sep else "")


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Event streams: random fields and comments, mixed line endings, a BOM, stray bytes."""
    parts = ["\ufeff"] if draw(st.booleans()) else []
    for line in draw(st.lists(_lines(), max_size=30)):
        parts.append(line + draw(_EOLS))
    if draw(st.booleans()):
        parts.append(draw(_lines()))  # an unterminated last line
    stream = "".join(parts).encode()
    if draw(st.booleans()) and stream:
        # Splice in some bytes that are not valid UTF-8 (or are a BOM) somewhere.
        at = draw(st.integers(0, len(stream)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xef\xbb\xbf", b"\x80"]))
        stream = stream[:at] + junk + stream[at:]
    return stream


@st.composite
def chunkings(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    stream = draw(streams())
    points = draw(st.lists(st.integers(0, len(stream)), max_size=20))
    return stream, split_at(stream, points)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(chunkings())
def test_any_chunking_gives_the_events_of_the_whole_stream(
    case: tuple[bytes, list[bytes]],
) -> None:
    """Feeding in any chunks equals feeding the whole, and equals the literal spec algorithm."""
    stream, chunks = case
    whole = SSEDecoder()
    events = whole.feed(stream)
    whole.close()
    chunked = SSEDecoder()
    assert feed_all(chunked, chunks) == events
    assert chunked.close() == []
    assert (chunked.last_event_id, chunked.retry) == (whole.last_event_id, whole.retry)
    reference = Reference().run(stream)
    assert events == reference.events
    assert whole.last_event_id == reference.last_event_id
    assert whole.retry == reference.retry


@settings(max_examples=100, deadline=None)
@given(streams())
def test_byte_by_byte_gives_the_events_of_the_whole_stream(stream: bytes) -> None:
    """One-byte chunks, the worst case for CR/LF pairs and UTF-8 sequences, change nothing."""
    assert feed_all(SSEDecoder(), [bytes([b]) for b in stream]) == Reference().run(stream).events


@settings(max_examples=200, deadline=None)
@given(chunkings(), st.integers(1, 40))
def test_the_size_limit_does_not_depend_on_chunking(
    case: tuple[bytes, list[bytes]], limit: int
) -> None:
    """A stream that breaks max_event_size raises however it is chunked, and one that keeps
    it never does."""
    stream, chunks = case

    def outcome(pieces: list[bytes]) -> list[ServerSentEvent] | None:
        decoder = SSEDecoder(max_event_size=limit)
        try:
            return feed_all(decoder, pieces)
        except ProtocolError:
            return None

    whole = outcome([stream])
    assert (outcome(chunks) is None) == (whole is None)
    if whole is not None:
        assert whole == Reference().run(stream).events
