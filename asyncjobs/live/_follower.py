""":class:`JobFollower`: one job followed on its own from a known state, over the feed of one
transport (:mod:`._single`), or for ``transport="auto"`` over SSE, else long poll, else polling,
falling back when the server turns out not to offer one; it drops every state that is not a
change. The hub uses it for a job followed alone; ``watch`` with an explicit transport too.
"""

from __future__ import annotations

from asyncjobs._api import JobAPI
from asyncjobs._exceptions import UnsupportedOperationError
from asyncjobs._models import TRANSPORT_OPERATION, Job, Transport, as_transport, supersedes
from asyncjobs._transport import NotOffered
from asyncjobs._validation import check_transport

from ._entry import note_transport
from ._single import JobFeed, open_feed

__all__ = ["JobFollower"]


class JobFollower:
    """Follows one job from a known state: each :meth:`next` returns the changes read next.

    With ``transport="auto"`` it tries SSE, then long poll, then polling, skipping what the
    profile lacks or what the server was seen not to offer (``api.unoffered``, which it also
    adds to). Every state returned is newer than the one before.

    Args:
        api: The client's job operations (and what its server does not offer).
        job_id: The job.
        transport: ``"auto"`` or one transport (then "not offered" raises
            :class:`UnsupportedOperationError`).
        poll_interval: A fixed polling interval, or None for adaptive polling.
        last: The state already known (from a plain read of the job).

    Raises:
        UnsupportedOperationError: a transport the profile lacks or the server does not offer.
    """

    def __init__(
        self,
        api: JobAPI,
        job_id: str,
        *,
        transport: str,
        poll_interval: float | None,
        last: Job | None,
    ) -> None:
        self._api = api
        self._job_id = job_id
        self._poll_interval = poll_interval
        self._unoffered = api.unoffered
        self._explicit = transport != "auto"
        profile = api.profile
        chain: list[Transport]
        if self._explicit:
            chosen = as_transport(check_transport(transport))
            assert chosen is not None
            if not api.can_follow(chosen):
                raise UnsupportedOperationError(profile.name, f"{chosen} transport")
            chain = [chosen]
        else:
            chain = [name for name in ("sse", "long-poll") if api.can_follow(name)]
            chain.append("poll")  # reading the job always works
        self._chain = chain
        self._feed: JobFeed | None = None
        self.last = last

    @property
    def transport(self) -> str | None:
        """The transport in use, or None before the first :meth:`next`."""
        return None if self._feed is None else self._feed.transport

    async def next(self, deadline: float | None = None) -> list[Job]:
        """Wait for the next changes of the job.

        Args:
            deadline: The caller's deadline (event loop time), so a long poll asks the server
                to answer before it; None for none. The caller enforces it.

        Returns:
            One or more states, each newer than the one before (and than the known state).

        Raises:
            UnsupportedOperationError: the chosen transport is not offered.
            JobNotFoundError: the job disappeared.
            APIError, TransportError: errors that outlasted the retry budget or are not
                transient.
        """
        while True:
            feed = self._feed
            if feed is None:
                feed = self._feed = open_feed(
                    self._api, self._job_id, self._chain[0], self._poll_interval
                )
                note_transport(self._api.http.hooks, "chosen", feed.transport, (self._job_id,))
            try:
                jobs = await feed.next(self.last, deadline)
            except NotOffered as exc:
                await feed.aclose()
                self._feed = None
                name = self._chain.pop(0)
                if exc.remember:
                    self._unoffered.add(TRANSPORT_OPERATION[name])
                if self._explicit:
                    raise UnsupportedOperationError(
                        self._api.profile.name, f"{name} transport", str(exc)
                    ) from exc
                note_transport(self._api.http.hooks, "dropped", name, (self._job_id,), str(exc))
                continue
            fresh: list[Job] = []
            last = self.last
            for job in jobs:
                if supersedes(last, job):
                    fresh.append(job)
                    last = job
            self.last = last
            if fresh:
                return fresh

    async def aclose(self) -> None:
        """Close the transport in use (its stream, if any)."""
        feed, self._feed = self._feed, None
        if feed is not None:
            await feed.aclose()
