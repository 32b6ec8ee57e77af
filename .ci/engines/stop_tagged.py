"""Stop every process that carries one engines run's tag, and only those.

``engines.sh`` starts each engine process with ``ASYNCJOBS_ENGINES_TAG=<a random tag>`` in its
environment, and every process an engine starts inherits it: Ray's GCS, raylet, dashboard and
agents, its workers and job supervisors, and the jobs' entrypoints, which Ray puts in sessions of
their own (so no process group or session holds them all); Celery's worker and its pool
children; Flower; redis-server. Scanning ``/proc/*/environ`` for that exact tag finds them
all, whatever they re-parented to, and nothing of anyone else's: ``ray stop`` would stop every
Ray on the machine.

Usage: ``python3 stop_tagged.py TAG [--grace SECONDS]``. In stages, as ``ray stop`` orders
them: first Ray's raylet (its agents and workers fate-share with it), then everything else
(dashboard, workers, Celery, Flower), last the stores the others talk to (Ray's GCS,
redis-server). Each stage: SIGTERM, then SIGKILL to whatever is left after the grace period (a
Celery worker's warm shutdown waits for its running tasks). Repeated until none is left, since a
dying Ray may still start a worker or two. Prints what it stopped; exits 1 if some process
survived SIGKILL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path


def tagged(tag: str) -> dict[int, str]:
    """The live processes whose environment holds exactly ``ASYNCJOBS_ENGINES_TAG=tag``."""
    needle = f"ASYNCJOBS_ENGINES_TAG={tag}".encode()
    me = os.getpid()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie: already dead, waiting for its parent to reap it
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found[int(entry.name)] = argv.strip()[:100]
    return found


def signal_all(pids: dict[int, str], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stage(argv: str) -> int:
    """0: stopped first (Ray's raylet), 2: last (Ray's GCS, redis-server), 1: the rest."""
    program = argv.split(" ", 1)[0].rsplit("/", 1)[-1]
    if program == "raylet":
        return 0
    if program in ("gcs_server", "redis-server"):
        return 2
    return 1


def wait_gone(tag: str, pids: dict[int, str], seconds: float) -> dict[int, str]:
    """Those of ``pids`` still alive (and tagged) after at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid: argv for pid, argv in tagged(tag).items() if pid in pids}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def stop(tag: str, grace: float) -> int:
    stopped = 0
    for _round in range(5):
        pids = tagged(tag)
        if not pids:
            break
        for number in (0, 1, 2):
            # Read again: a stage's end may have ended (or started) others.
            group = {pid: argv for pid, argv in tagged(tag).items() if stage(argv) == number}
            if not group:
                continue
            stopped += len(group)
            signal_all(group, signal.SIGTERM)
            left = wait_gone(tag, group, grace)
            if left:
                print(
                    f"stop_tagged: {len(left)} process(es) still alive {grace:g} s after "
                    f"SIGTERM, sending SIGKILL: {sorted(left.values())}",
                    file=sys.stderr,
                )
                signal_all(left, signal.SIGKILL)
                wait_gone(tag, left, 5.0)
    left = tagged(tag)
    print(f"stop_tagged: stopped {stopped} process(es) tagged {tag}")
    if left:
        print(f"stop_tagged: could not stop {sorted(left.items())}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    parser.add_argument("--list", action="store_true", help="only list the tagged processes")
    args = parser.parse_args()
    if not args.tag.strip():
        parser.error("an empty tag would match nothing meaningful")
    if args.list:
        for pid, argv in sorted(tagged(args.tag).items()):
            print(pid, argv)
        return 0
    return stop(args.tag, args.grace)


if __name__ == "__main__":
    sys.exit(main())
