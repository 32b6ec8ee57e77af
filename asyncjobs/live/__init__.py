"""The live layer: following jobs as they change.

- :mod:`._hub`: one client's shared subscriptions; every watch and wait subscribes here;
  :mod:`._stream_slots`: which of its multiplexed streams takes new jobs, and their folds;
- :mod:`._multi`, :mod:`._poller`, :mod:`._single`: the feeds (a multiplexed SSE stream,
  batched polling, one job followed alone over SSE, long poll or polling); :mod:`._multi_pump`:
  a multiplexed stream's events handed on as jobs; :mod:`._reads`: a multiplexed stream's reads
  (joins, confirmations) and the resume point of a fold; :mod:`._follower`: one job followed
  alone, from one transport to the next;
- :mod:`._events`: stream events as jobs; :mod:`._deadline`: the clock of a watch or wait;
- :mod:`._watch` and :mod:`._waiting`: the iterators and waits the :class:`~asyncjobs.Client`
  offers; :mod:`._follow_many`: many jobs followed by one consumer (``watch_jobs``,
  ``as_completed``); :mod:`._cancel_on_exit`: cancelling the unfinished jobs of a wait.
"""

from __future__ import annotations

from ._hub import Hub
from ._waiting import as_completed, job_error, wait_for_job, wait_for_jobs, watch_jobs
from ._watch import watch

__all__ = [
    "Hub",
    "as_completed",
    "job_error",
    "wait_for_job",
    "wait_for_jobs",
    "watch",
    "watch_jobs",
]
