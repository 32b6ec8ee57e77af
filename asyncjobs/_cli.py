"""The ``asyncjobs`` command line.

Each command is an argparse subcommand: :func:`build_parser` registers them, and each one's
handler takes the parsed arguments and returns the exit status. ``serve`` runs the reference
server; the client commands are added beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="asyncjobs",
        description="Submit, watch and wait for jobs of HTTP job APIs; run a reference server.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(commands)
    # Client commands and `demo` (issue #5): submit, get, list, watch, wait, cancel, stats.
    from asyncjobs._cli_commands import add_connection_options, register

    add_connection_options(parser)
    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments (without the program name); None: ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for a usage error, 1 when the command failed.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return handler(args)


# -- serve -------------------------------------------------------------------------------------


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the reference job server (simulated jobs)",
        description=(
            "Run the reference job server with auto-run on: each submitted job is simulated "
            'from its config {"duration": s, "steps": n, "fail": bool, "result": any}. '
            "Stops on Ctrl-C or SIGTERM."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any)")
    serve.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help="accept this bearer token; repeatable; each token sees only its own jobs "
        "(default: no authentication)",
    )
    serve.add_argument(
        "--heartbeat",
        type=_positive,
        default=15.0,
        help="seconds between SSE pings (default: 15)",
    )
    serve.add_argument(
        "--workers", type=int, default=8, help="simulated jobs run at once (default: 8)"
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from asyncjobs.server._serve import serve

    if args.workers < 1:
        print("asyncjobs serve: --workers must be at least 1", file=sys.stderr)
        return 2

    def ready(url: str) -> None:
        print(f"asyncjobs server listening on {url} (Ctrl-C to stop)", flush=True)

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
        return 1
    print("asyncjobs server stopped", flush=True)
    return 0
