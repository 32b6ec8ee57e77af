"""``asyncjobs serve``: the reference job server on a socket, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys

# `serve` is not among asyncjobs.server's public names (yet): this is its only home.
from asyncjobs.server._serve import serve

from ._base import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Commands, add_command
from ._format import plural
from ._options import seconds_arg

__all__ = ["add_serve"]


def add_serve(commands: Commands[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = add_command(
        commands,
        "serve",
        help="run the reference job server (simulated jobs)",
        description=(
            "Run the reference job server with auto-run on: each submitted job is simulated "
            'from its config {"duration": s, "steps": n, "fail": bool, "result": any}, '
            "--workers of them at a time (the others wait, pending). "
            "Stops on Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any)")
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help="accept this bearer token; repeatable; each token sees only its own jobs "
        "(default: no authentication)",
    )
    parser.add_argument(
        "--heartbeat",
        type=seconds_arg,
        default=15.0,
        help="seconds between SSE pings (default: 15)",
    )
    parser.add_argument(
        "--workers", type=int, default=8, help="simulated jobs run at once (default: 8)"
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("asyncjobs serve: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE

    def ready(url: str) -> None:
        print(
            f"asyncjobs server listening on {url}, running {plural(args.workers, 'job')} "
            "at a time (Ctrl-C to stop)",
            flush=True,
        )

    try:
        asyncio.run(
            serve(
                host=args.host,
                port=args.port,
                tokens=args.tokens,
                workers=args.workers,
                heartbeat=args.heartbeat,
                on_ready=ready,
            )
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"asyncjobs serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print("asyncjobs server stopped", flush=True)
    return EXIT_OK
