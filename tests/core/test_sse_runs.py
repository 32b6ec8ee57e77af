"""The decoder's fast path for runs of blocks of the full common form (``id``, ``event``, one
``data`` line): however such runs are broken (a comment, a NUL in an id, a retry, an extra blank
line, blocks of other forms) and however the stream is cut, the events are the spec's."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sse import Reference, feed_all, split_at

from asyncjobs.sse import ServerSentEvent, SSEDecoder

E = ServerSentEvent


def full(n: int) -> str:
    data = f'{{"v":{n}}}'
    return f"id: {n}\nevent: job\ndata: {data}\n\n"


def run_of(count: int, start: int = 1) -> str:
    return "".join(full(n) for n in range(start, start + count))


BREAKS = [
    ": a comment\n",  # a comment line between blocks
    "id: 7\0x\nevent: job\ndata: nul\n\n",  # an id with NUL: ignored, the block still dispatched
    "\n",  # an extra blank line
    "retry: 2500\nid: r\nevent: job\ndata: with retry\n\n",  # retry belongs to its block
    "id: only-id\ndata: no event line\n\n",
    "data: data only\n\n",
    "id: \nevent: job\ndata: empty id\n\n",  # an empty id resets the last event id
    "id: e\nevent: \ndata: empty event\n\n",  # an empty event type is "message"
    "id: m\nevent: job\ndata: one\ndata: two\n\n",  # two data lines
    "id: x\nevent: job\n\n",  # no data: not dispatched, but the id is kept
    "event: job\nid: swapped\ndata: other order\n\n",
    "id:nospace\nevent:job\ndata:nospace\n\n",
    "xid: 5\nevent: job\ndata: junk before the id\n\n",
    "id: 5\nevent: job\ndata: d\n",  # a block that the stream's end leaves unfinished
]


def check(stream: str) -> None:
    data = stream.encode()
    expected = Reference().run(data).events
    whole = SSEDecoder()
    assert whole.feed(data) == expected
    for size in (1, 7, 64, 333, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert feed_all(SSEDecoder(), chunks) == expected, size


def test_a_run_of_full_blocks() -> None:
    stream = run_of(500)
    events = SSEDecoder().feed(stream.encode())
    assert events == [E(event="job", data=f'{{"v":{n}}}', id=str(n)) for n in range(1, 501)]
    check(stream)


def test_a_run_broken_anywhere_by_anything() -> None:
    for brk, at in itertools.product(BREAKS, (0, 1, 50)):
        check(run_of(at) + brk + run_of(60, start=100))
        check(run_of(at) + brk + brk + run_of(3, start=100) + brk)


def test_the_last_event_id_follows_a_run() -> None:
    decoder = SSEDecoder()
    decoder.feed((run_of(5) + "id: 5\nevent: job\n").encode())
    assert decoder.last_event_id == "5"  # the unfinished block's id is not the last one yet
    assert decoder.feed(b"data: x\n\n") == [E(event="job", data="x", id="5")]
    decoder.feed(run_of(3, start=10).encode())
    assert decoder.last_event_id == "12"
    assert decoder.feed(b"data: after\n\n") == [E(data="after", id="12")]


_BLOCKS = st.one_of(
    st.integers(1, 10**6).map(full),
    st.integers(1, 10**6).map(full),
    st.integers(1, 10**6).map(full),
    st.sampled_from(BREAKS[:-1]),
    st.tuples(st.sampled_from(["id", "event", "data"]), st.text(max_size=5)).map(
        lambda field: f"{field[0]}: {field[1]}\n\n".replace("\r", "")
    ),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(_BLOCKS, max_size=60), st.lists(st.integers(0, 10**5), max_size=8))
def test_runs_of_any_blocks_in_any_chunks(blocks: list[str], points: list[int]) -> None:
    data = "".join(blocks).encode()
    points = [point % (len(data) + 1) for point in points]
    expected = Reference().run(data).events
    assert SSEDecoder().feed(data) == expected
    assert feed_all(SSEDecoder(), split_at(data, points)) == expected
