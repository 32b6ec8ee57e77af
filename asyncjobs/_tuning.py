"""The internal knobs of watching and waiting, in one object (sans-I/O)."""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["TUNING", "Tuning"]


@attrs.define
class Tuning:
    """The internal knobs of watching and waiting (tests shorten them with ``monkeypatch``).

    Attributes:
        stall_floor: A stream silent this long is dead while no heartbeat has been seen on it
            (once pings are seen, the limit follows them), so it is dropped and resumed.
        stall_heartbeats: How many of the server's heartbeat intervals of silence (the longest
            of the last few seen) mean stalled.
        stall_min: The least stall limit, however fast the server's heartbeat.
        reconnect_base: The first delay before reconnecting or retrying (jittered, doubling);
            a stream's ``retry:`` field takes its place for reconnects.
        reconnect_cap: The longest such delay.
        protocol_retries: How many garbled answers in a row (a :class:`ProtocolError`) a feed
            retries before its waiters get the error.
        failure_budget: Seconds of failing in a row (no connection, 5xx, 429) before a watch or
            wait gives up and raises the last error.
        long_poll: Seconds a long poll asks the server to hold the request.
        long_poll_margin: Added to ``long_poll`` for the request's own timeout.
        poll_start: The first interval of adaptive polling (also after any change).
        poll_growth: Adaptive polling grows the interval by this factor after a quiet poll.
        poll_cap: The longest adaptive polling interval.
        max_streams: The most multiplexed SSE streams one client opens; more jobs join the
            smallest stream (which reconnects with the larger id set).
        reopen_interval: The least time between two reconnects of one multiplexed stream caused
            by jobs joining it, so a trickle of joins does not reconnect it for each.
        read_concurrency: Batched reads run at once (initial states, batched polling).
        unoffered_ttl: Seconds a route the server answered as not offered (404/405/501, or not
            an event stream) is not tried again; then it is, so one odd answer is not final.
        max_single_feeds: Without a multiplexed stream, a job waited on alone is followed on its
            own (per-job SSE or long poll) up to this many at once; beyond, batched polling.
        max_stream_ids: The most job ids one multiplexed stream opened with POST carries;
            more jobs take more streams, then batched polling. A server that refuses a stream
            as too large (413, 414) makes the client carry half as many ids a stream from then
            on, as often as it takes (100,000 ids of 16 characters make a 1.9 MB body: at a
            server's usual 1 MiB limit they settle at 50,000 a stream after one refusal).
        max_query_ids: The longest ``ids=`` query (characters) of a multiplexed stream opened
            with GET; longer id lists use POST.
        events_per_turn: The most events of one read a multiplexed stream hands on before
            letting the event loop run other tasks (bounds how long a big read holds the loop).
        cancel_grace: How long a wait with ``cancel_on_exit`` that is ending waits for its
            cancels before it raises (they go on in the background, tracked by the client).
        close_grace: How long ``Client.close()`` waits for such background work.
        coalesce_window: While a multiplexed stream is busy (two reads that brought events
            came less than two windows apart), it is read at most once a window, its
            transport paused in between, so that one wake-up reads all that came meanwhile
            instead of one per packet: less CPU per update under load, for at most this much
            added delay. A stream whose updates come further apart is read at once. 0 turns
            it off.
    """

    stall_floor: float = 45.0
    stall_heartbeats: float = 3.0
    stall_min: float = 0.5
    reconnect_base: float = 0.2
    reconnect_cap: float = 5.0
    failure_budget: float = 60.0
    protocol_retries: int = 3
    long_poll: float = 30.0
    long_poll_margin: float = 10.0
    poll_start: float = 0.2
    poll_growth: float = 1.5
    poll_cap: float = 3.0
    max_streams: int = 4
    reopen_interval: float = 0.1
    read_concurrency: int = 4
    unoffered_ttl: float = 300.0
    max_single_feeds: int = 8
    max_stream_ids: int = 100_000
    max_query_ids: int = 2000
    events_per_turn: int = 200
    cancel_grace: float = 2.0
    close_grace: float = 35.0
    coalesce_window: float = 0.02


TUNING: Final = Tuning()
"""The knobs in use (one object, so ``monkeypatch.setattr(TUNING, ...)`` reaches every module)."""
