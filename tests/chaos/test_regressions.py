"""Network faults the client already survives: resets, stalls, truncation, dropped submits.

Each runs in-process (aiohttp's C parser); the pure-Python parser's runs are in
``test_pure_python_parser.py``.
"""

import _scenarios
import pytest

pytestmark = pytest.mark.anyio


async def test_a_watch_through_a_reset_every_half_second_sees_increasing_versions_and_the_end() -> (
    None
):
    """200 updates, the stream reset every 0.5 s: strictly increasing versions, the final state."""
    await _scenarios.watch_through_resets(updates=200, every=0.5)


async def test_two_thousand_waits_through_random_faults_all_end_and_leave_nothing() -> None:
    """2,000 waits through random resets, stalls and truncation: all results, 0 tasks and 0
    sockets left."""
    await _scenarios.waits_through_chaos(count=2000, seed=12)


async def test_a_dropped_submit_makes_exactly_one_job() -> None:
    """A lost submit answer and a submit cut while sent are retried into one job each."""
    await _scenarios.dropped_submit()
