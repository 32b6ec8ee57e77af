"""Fixtures of the command-line tests: a JobServer that runs jobs, a port nobody listens on,
and a stand-in for a missing rich.

The tests run ``python -m asyncjobs`` in a subprocess (see ``_cli_runner``) against a real
server on loopback.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncjobs.testing import JobServer


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer that runs submitted jobs as simulations (auto_run)."""
    async with JobServer(auto_run=True) as server:
        yield server


@pytest.fixture
async def idle_server() -> AsyncIterator[JobServer]:
    """A JobServer that never moves a job by itself: the test drives every change."""
    async with JobServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def without_rich(tmp_path: Path) -> Path:
    """A directory to put first on PYTHONPATH so that ``import rich`` fails (no cli extra)."""
    (tmp_path / "rich").mkdir()
    (tmp_path / "rich" / "__init__.py").write_text("raise ImportError('rich is not installed')\n")
    return tmp_path
