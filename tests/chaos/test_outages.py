"""Outages the default retry policy rides out: connections refused for a few seconds."""

from __future__ import annotations

import asyncio

import pytest
from _live_helpers import bounded

from asyncjobs import Client, RetryPolicy, TransportError
from asyncjobs.testing import FaultProxy, JobServer

pytestmark = pytest.mark.anyio


async def test_the_default_policy_rides_out_seconds_of_refused_connections() -> None:
    """Every new connection reset for 3 s: a read and a submit made meanwhile succeed once the
    refusal ends, with the default policy, and the submit makes exactly one job."""
    async with (
        JobServer() as server,
        FaultProxy(server.host, server.port) as proxy,
        Client(proxy.url_for(server.url)) as client,
    ):
        job = server.create_job()
        await client.get_job(job.id)
        proxy.refuse(3.0)
        proxy.reset_open()  # pooled connections too: every request needs a new one
        read, made = await bounded(
            asyncio.gather(client.get_job(job.id), client.submit_job("during")),
            "a read and a submit through 3 s of refused connections",
            timeout=25,
        )
        assert read.id == job.id
        assert [j.id for j in server.jobs if j.name == "during"] == [made.id]
        assert proxy.connections_refused >= 2


async def test_a_server_that_stays_away_fails_within_the_policys_budget() -> None:
    """Refused for longer than the budget: the call retries, then raises TransportError
    within max_total (a short policy here keeps the test quick), never hangs."""
    async with (
        JobServer() as server,
        FaultProxy(server.host, server.port) as proxy,
        Client(proxy.url_for(server.url), retry=RetryPolicy(max_total=1.0)) as client,
    ):
        job = server.create_job()
        proxy.refuse(60.0)
        with pytest.raises(TransportError):
            await bounded(client.get_job(job.id), "a call to a server that stays away")
        assert proxy.connections_refused >= 2  # it did retry
