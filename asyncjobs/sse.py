"""The public Server-Sent Events decoder: sans-I/O, bytes in, events out.

Usage::

    from asyncjobs.sse import SSEDecoder

    decoder = SSEDecoder(max_event_size=1_048_576)
    for event in decoder.feed(chunk):
        print(event.event, event.id, event.json())
"""

from ._sse import ServerSentEvent, SSEDecoder

__all__ = ["SSEDecoder", "ServerSentEvent"]
