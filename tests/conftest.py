"""Shared fixtures: anyio runs every async test on asyncio (aiohttp cannot run on trio)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
