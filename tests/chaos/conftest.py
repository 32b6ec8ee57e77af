"""Hostile servers and networks: streams cut mid-event, closed early, silent, slow, answering
garbage or refusing, staged by tiny ``aiohttp.web`` apps (``_client_apps``-style) because the
reference server cannot misbehave this way. The client must resume exactly, never end a watch
early, and leave nothing behind.

No fixture is shared here; ``fast`` (root conftest) shortens stall limits and backoffs.
"""
