"""Reading a profile's stream events as jobs (sans-I/O): which events carry a job, and how."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from asyncjobs._converter import job_from_native
from asyncjobs._exceptions import ProtocolError
from asyncjobs._json import decoder, scanner
from asyncjobs._models import Job
from asyncjobs.profiles import Profile

__all__ = ["JOB_EVENTS", "EventParser", "event_parser"]

logger = logging.getLogger("asyncjobs")

JOB_EVENTS: Final = frozenset({"job", "message"})
"""SSE event types that carry a job (native streams send ``job``, data-only APIs ``message``)."""

EventParser = Callable[[str, Job | None], Job | None]
"""Turns an event's data (and the job's last state) into a Job, or None to skip the event."""


def event_parser(profile: Profile) -> tuple[EventParser, bool]:
    """How to read the events of ``profile``'s streams.

    Returns:
        The parser, and whether it is the profile's own ``parse_event`` hook (which may raise
        :class:`ProtocolError` to say "this stream cannot serve the job"). The default parser
        is ``profile.parse_job(json.loads(data))`` (with the JSON backend in use when it is
        made: ``orjson`` when installed, see :mod:`asyncjobs._json`) and skips (logs) events
        that are not valid JSON or not a job, never raising.
    """
    hook = getattr(profile, "parse_event", None)
    if hook is not None:
        custom: EventParser = hook
        return custom, True
    parse_job = profile.parse_job
    if type(profile).parse_job is Profile.parse_job:
        parse_job = job_from_native  # what it calls, minus a call per event
    loads = decoder()
    scan = scanner()

    if scan is None:

        def parse(data: str, previous: Job | None) -> Job | None:
            try:
                return parse_job(loads(data))
            except (ValueError, ProtocolError) as exc:
                logger.warning("skipping a stream event that is not a job (%s): %.120r", exc, data)
                return None

    else:
        # The standard library's decoder, inlined (a call less per event): the C scanner, and
        # json's own answer for whatever it does not take whole.
        def parse(data: str, previous: Job | None) -> Job | None:
            try:
                try:
                    payload, end = scan(data, 0)
                except (StopIteration, RecursionError):
                    end = -1
                if end != len(data):
                    payload = loads(data)
                return parse_job(payload)
            except (ValueError, ProtocolError) as exc:
                logger.warning("skipping a stream event that is not a job (%s): %.120r", exc, data)
                return None

    return parse, False
