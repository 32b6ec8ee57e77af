"""Wait until an engine answers: an HTTP route (optionally with basic auth, optionally until its
body holds some text), or a TCP port. Standard library only, so any python3 runs it.

Usage:
    python3 wait_ready.py http URL [--auth USER:PASSWORD] [--contains TEXT] [--timeout S]
    python3 wait_ready.py tcp PORT [--timeout S]

Exits 0 as soon as it answers, 1 after the timeout, saying what it last saw.
"""

from __future__ import annotations

import argparse
import base64
import socket
import sys
import time
import urllib.error
import urllib.request


def http_once(url: str, auth: str | None, contains: str | None) -> str | None:
    """None when ready, else what was seen instead."""
    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            body = answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (OSError, urllib.error.URLError) as error:
        return f"{type(error).__name__}: {error}"
    if contains is not None and contains not in body:
        return f"200 without {contains!r}: {body[:200]!r}"
    return None


def tcp_once(port: int) -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return None
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["http", "tcp"])
    parser.add_argument("target", help="a URL (http) or a port on 127.0.0.1 (tcp)")
    parser.add_argument("--auth", help="USER:PASSWORD for HTTP basic auth")
    parser.add_argument("--contains", help="wait until the body holds this text")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while True:
        if args.kind == "http":
            seen = http_once(args.target, args.auth, args.contains)
        else:
            seen = tcp_once(int(args.target))
        if seen is None:
            return 0
        if time.monotonic() >= deadline:
            print(
                f"wait_ready: {args.target} not ready after {args.timeout:g} s; last: {seen}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
