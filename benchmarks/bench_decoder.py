"""In-memory SSE decoding throughput: asyncjobs' SSEDecoder against a bare loop and httpx-sse.

Every candidate turns the same bytes, cut into the same chunks, into parsed JSON payloads:

- bare: split the bytes on blank lines, ``json.loads`` what follows ``data:`` (no SSE rules at all);
- asyncjobs: ``SSEDecoder.feed`` + ``json.loads(event.data)``;
- httpx-sse: its line decoder and event decoder, as ``aiter_sse`` drives them, + ``json.loads``;
- asyncjobs (no JSON): ``SSEDecoder.feed`` alone, to show what the decoder itself costs.

Runs are interleaved (one of each candidate per round) and the median of the rounds is reported.

    python benchmarks/bench_decoder.py [--events N] [--chunk-size BYTES] [--rounds R]
"""

from __future__ import annotations

import argparse
import codecs
import gc
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _data import CHUNK_SIZE, DEFAULT_EVENTS, chunked, make_stream

from asyncjobs.sse import SSEDecoder

Candidate = Callable[[list[bytes]], int]


def bare(chunks: list[bytes]) -> int:
    """Split on blank lines and parse the data line's payload; no SSE rules."""
    loads = json.loads
    count = 0
    rest = b""
    for chunk in chunks:
        blocks = (rest + chunk).split(b"\n\n")
        rest = blocks.pop()
        for block in blocks:
            loads(block[block.find(b"data:") + 5 :])
            count += 1
    return count


def asyncjobs_decoder(chunks: list[bytes]) -> int:
    loads = json.loads
    count = 0
    decoder = SSEDecoder()
    feed = decoder.feed
    for chunk in chunks:
        for event in feed(chunk):
            loads(event.data)
            count += 1
    decoder.close()
    return count


def asyncjobs_decoder_only(chunks: list[bytes]) -> int:
    count = 0
    decoder = SSEDecoder()
    feed = decoder.feed
    for chunk in chunks:
        count += len(feed(chunk))
    decoder.close()
    return count


def httpx_sse_decoder(chunks: list[bytes]) -> int:
    """httpx-sse's decoders, driven the way ``EventSource.aiter_sse`` drives them."""
    from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
    from httpx_sse._decoders import SSELineDecoder

    loads = json.loads
    count = 0
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # httpx's aiter_text
    line_decoder = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    for chunk in chunks:
        for line in line_decoder.decode(text_decoder.decode(chunk)):
            event = decoder.decode(line.rstrip("\n"))
            if event is not None:
                loads(event.data)
                count += 1
    return count


def measure(
    candidates: dict[str, Candidate], chunks: list[bytes], events: int, rounds: int
) -> dict[str, float]:
    """Return each candidate's median events per second over ``rounds`` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            gc.collect()
            start = time.perf_counter()
            count = run(chunks)
            times[name].append(time.perf_counter() - start)
            if count != events:
                raise SystemExit(f"{name} decoded {count} events, expected {events}")
    return {name: events / statistics.median(spent) for name, spent in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events in the stream")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="bytes per feed")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs; the median counts")
    args = parser.parse_args()

    data = make_stream(args.events)
    chunks = list(chunked(data, args.chunk_size))
    print(
        f"{args.events:,} events, {len(data) / args.events:.0f} bytes each, "
        f"{len(chunks):,} chunks of {args.chunk_size:,} bytes, median of {args.rounds} rounds, "
        f"Python {sys.version.split()[0]}"
    )
    candidates: dict[str, Candidate] = {"bare split + json.loads": bare}
    if importlib.util.find_spec("httpx_sse") is None:
        print("note: httpx-sse is not installed (pip install -e '.[bench]'); skipping it")
    else:
        candidates["httpx-sse + json.loads"] = httpx_sse_decoder
    candidates["asyncjobs SSEDecoder + json.loads"] = asyncjobs_decoder
    candidates["asyncjobs SSEDecoder alone"] = asyncjobs_decoder_only

    rates = measure(candidates, chunks, args.events, args.rounds)
    ours = rates["asyncjobs SSEDecoder + json.loads"]
    print()
    print(f"{'candidate':<36} {'events/s':>12} {'us/event':>9} {'ours is':>9}")
    for name, rate in rates.items():
        print(f"{name:<36} {rate:>12,.0f} {1e6 / rate:>9.2f} {ours / rate:>8.2f}x")
    print()
    checks = [("bare split + json.loads", 0.9), ("httpx-sse + json.loads", 1.1)]
    for name, target in checks:
        if name in rates:
            ratio = ours / rates[name]
            verdict = "ok" if ratio >= target else "BELOW TARGET"
            print(f"target: ours >= {target}x {name}: {ratio:.2f}x {verdict}")


if __name__ == "__main__":
    main()
