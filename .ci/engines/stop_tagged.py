"""Stop every process that one engines run started, and only those.

``engines.sh`` starts each engine process with ``ASYNCJOBS_ENGINES_TAG=<a random tag>`` in its
environment, and the processes an engine starts inherit it: Ray's GCS, raylet, dashboard,
workers and job supervisors, and the jobs' entrypoints, which Ray puts in sessions of their own
(so no process group or session holds them all); Celery's worker and its pool; Flower;
redis-server. A process is ours when its environment holds that exact tag, or when it descends
from one that does: a process that sets its title (Ray's dashboard modules and agents use
setproctitle) overwrites the memory ``/proc/PID/environ`` reads, tag included, but stays its
parent's child. Processes once found are remembered (by pid and start time) while they live,
even after their parent dies. Nothing of anyone else's is touched: ``ray stop`` would stop
every Ray on the machine.

Usage: ``python3 stop_tagged.py TAG [--grace SECONDS] [--list]``. In stages, as ``ray stop``
orders them: first Ray's raylet (its agents and workers fate-share with it), then everything
else (dashboard, workers, Celery, Flower), last the stores the others talk to (Ray's GCS,
redis-server). Each stage: SIGTERM, then SIGKILL to whatever is left after the grace period (a
Celery worker's warm shutdown waits for its running tasks). Repeated until none is left, since
a dying Ray may still start a worker or two. Prints what it stopped; exits 1 if some process
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
from typing import NamedTuple


class Proc(NamedTuple):
    pid: int
    ppid: int
    started: int  # clock ticks since boot: with the pid, names one process for good
    argv: str
    tagged: bool


Key = tuple[int, int]  # (pid, start time)


def snapshot(tag: str) -> dict[int, Proc]:
    """Every live process (zombies left out) but this one, with whether it holds the tag."""
    needle = f"ASYNCJOBS_ENGINES_TAG={tag}".encode()
    me = os.getpid()
    found: dict[int, Proc] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            # "pid (comm) state ppid ..." where comm may hold spaces and parentheses.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue  # already dead, waiting for its parent to reap it
            try:
                environ = (entry / "environ").read_bytes()
            except PermissionError:  # another user's process
                environ = b""
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        found[int(entry.name)] = Proc(
            pid=int(entry.name),
            ppid=int(fields[1]),
            started=int(fields[19]),
            argv=argv.strip()[:100],
            tagged=needle in environ.split(b"\0"),
        )
    return found


def ours(tag: str, known: set[Key]) -> dict[int, Proc]:
    """The live processes of this run: tagged, descended from one of ours, or known before.
    Adds them to ``known``."""
    procs = snapshot(tag)
    mine = {pid for pid, proc in procs.items() if proc.tagged or (proc.pid, proc.started) in known}
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    stack = list(mine)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in mine:
                mine.add(child)
                stack.append(child)
    known.update((pid, procs[pid].started) for pid in mine)
    return {pid: procs[pid] for pid in mine}


def stage(proc: Proc) -> int:
    """0: stopped first (Ray's raylet), 2: last (Ray's GCS, redis-server), 1: the rest."""
    program = proc.argv.split(" ", 1)[0].rsplit("/", 1)[-1]
    if program == "raylet":
        return 0
    if program in ("gcs_server", "redis-server"):
        return 2
    return 1


def signal_all(procs: dict[int, Proc], signum: signal.Signals) -> None:
    for pid in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def wait_gone(tag: str, known: set[Key], procs: dict[int, Proc], seconds: float) -> dict[int, Proc]:
    """Those of ``procs`` still alive after at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        alive = ours(tag, known)
        left = {pid: proc for pid, proc in procs.items() if pid in alive}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def stop(tag: str, grace: float) -> int:
    known: set[Key] = set()
    stopped: set[Key] = set()
    for _round in range(5):
        if not ours(tag, known):
            break
        for number in (0, 1, 2):
            # Read again: a stage's end may have ended (or started) others.
            group = {pid: proc for pid, proc in ours(tag, known).items() if stage(proc) == number}
            if not group:
                continue
            stopped.update((proc.pid, proc.started) for proc in group.values())
            signal_all(group, signal.SIGTERM)
            left = wait_gone(tag, known, group, grace)
            if left:
                print(
                    f"stop_tagged: {len(left)} process(es) still alive {grace:g} s after "
                    f"SIGTERM, sending SIGKILL: {sorted(proc.argv for proc in left.values())}",
                    file=sys.stderr,
                )
                signal_all(left, signal.SIGKILL)
                wait_gone(tag, known, left, 5.0)
    left = ours(tag, known)
    print(f"stop_tagged: stopped {len(stopped)} process(es) of run {tag}")
    if left:
        print(f"stop_tagged: could not stop {sorted(left.values())}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    parser.add_argument("--list", action="store_true", help="only list the run's processes")
    args = parser.parse_args()
    if not args.tag.strip():
        parser.error("the tag must not be empty")
    if args.list:
        for pid, proc in sorted(ours(args.tag, set()).items()):
            print(pid, "tagged" if proc.tagged else "child ", proc.argv)
        return 0
    return stop(args.tag, args.grace)


if __name__ == "__main__":
    sys.exit(main())
