"""Reading a multiplexed stream's open connection (:class:`~._multi.MultiStream`): its events
become jobs, handed to the hub (:meth:`Hub.deliver_many`) a slice of a read at a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import Job
from asyncjobs._tuning import TUNING

from ._events import JOB_EVENTS
from ._reads import confirm

if TYPE_CHECKING:
    from ._multi import MultiStream

__all__ = ["pump"]

logger = logging.getLogger("asyncjobs")


async def pump(multi: MultiStream) -> None:
    """Read ``multi``'s events and pass each job on, until the connection ends or no job is left.

    An event that cannot be read as a job is skipped (logged), but the stream's resume
    point stays before it, and the first such event of a connection makes the stream's
    jobs be read at once (it may have been a final state).
    """
    stream = multi._stream
    deliver_many = multi._hub.deliver_many
    parse = multi._parse
    # The default parser's events are kept by the hub as their texts (see Entry); a
    # profile's own hook may read more than the text, so its jobs are kept whole.
    keep_texts = not multi._custom
    good = stream.resume_id  # the id of the last event handled
    confirmed = False
    settled = good is not None  # the hub knows it can be folded
    while multi.entries:
        events = await stream.read()
        if events is None:
            return
        turn = TUNING.events_per_turn
        try:
            for start in range(0, len(events), turn):
                if start:
                    # A big read (a reconnect's backlog) is handed on in slices, letting
                    # the loop run other tasks (a submit, a read) in between.
                    await asyncio.sleep(0)
                # The slice's jobs go to the hub in one call: each listener is handed
                # its share at once and its consumer wakes once, not once per event.
                jobs: list[Job] = []
                texts: list[str] | None = [] if keep_texts else None
                for event in events[start : start + turn]:
                    if event.event in JOB_EVENTS:
                        data = event.data
                        try:
                            job = parse(data, None)
                        except ProtocolError as exc:  # only a profile's own hook raises
                            logger.warning("multiplexed stream: an event is not a job: %s", exc)
                            job = None
                        if job is None:
                            if not multi._custom:  # a profile's own hook skips on purpose
                                stream.pin(good)
                                if not confirmed:
                                    confirmed = True
                                    if jobs:  # what came before goes first
                                        deliver_many(jobs, texts)
                                        jobs = []
                                        texts = [] if keep_texts else None
                                    await confirm(multi)
                            continue
                        jobs.append(job)
                        if texts is not None:
                            texts.append(data)
                    good = event.id
                if jobs:
                    deliver_many(jobs, texts)
        except asyncio.CancelledError:
            # Stopped between slices (a fold, a restart): what was not handed on yet
            # comes again from where the resume point now stays.
            stream.pin(good)
            raise
        if events:
            multi._hub.saw(events[-1].id)
        if not settled and good is not None:
            settled = True
            multi._hub.slots.settled(multi)
