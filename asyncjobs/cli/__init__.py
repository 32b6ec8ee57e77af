"""The ``asyncjobs`` command line (``python -m asyncjobs`` and the ``asyncjobs`` script).

Each command is an argparse subcommand whose handler takes the parsed arguments and returns the
exit status (the table is :data:`._base.EXIT_CODES_HELP`, shown by ``asyncjobs --help``):

- ``serve`` (:mod:`._serve`): the reference server; ``demo`` (:mod:`._demo`): an embedded
  server, simulated jobs, live bars;
- the client commands (:mod:`._commands`): reads in :mod:`._show`, changes in :mod:`._change`,
  live ones in :mod:`._follow`, all run by :mod:`._base`;
- output: values in :mod:`._format`, plain and JSON views in :mod:`._plain`, rich bars in
  :mod:`._rich` (the optional ``cli`` extra), the choice between them in :mod:`._views`.

It uses the client only through the public ``asyncjobs`` namespace.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from asyncjobs import __version__

from ._base import EXIT_CODES_HELP, EXIT_USAGE
from ._commands import register
from ._demo import add_demo
from ._options import add_connection_options
from ._serve import add_serve

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="asyncjobs",
        description="Submit, watch and wait for jobs of HTTP job APIs; run a reference server.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"asyncjobs {__version__}")
    add_connection_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_serve(commands)
    add_demo(commands)
    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments (without the program name); None: ``sys.argv[1:]``.

    Returns:
        The exit status (see ``asyncjobs --help``): 0 done, 1 error, 2 usage error, 3 a job
        failed, 4 a job was cancelled, 5 timed out, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return handler(args)
