"""Every module of the package imports alone, each in a fresh interpreter: no import-order
trap (a module that works only once another was imported first) can hide behind the suite's
own import order."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import asyncjobs

# A fresh interpreter imports aiohttp in well under a second; the bound only stops a hang.
TIMEOUT = 60.0


def _modules() -> list[str]:
    found = [
        info.name
        for info in pkgutil.walk_packages(asyncjobs.__path__, prefix="asyncjobs.")
        # walk_packages imports packages to find their submodules: a package that fails to
        # import would be reported by onerror, and then fail below on its own.
    ]
    return ["asyncjobs", *sorted(found)]


def _import_alone(module: str) -> tuple[str, int, str]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return module, -1, f"still importing after {TIMEOUT} s"
    return module, done.returncode, done.stderr


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """``python -c "import <module>"`` exits 0 for each module of asyncjobs."""
    modules = _modules()
    # The layers are all there (a walk that found nothing would pass vacuously).
    for layer in ("profiles", "_transport", "live", "cli", "server", "testing"):
        assert any(name.startswith(f"asyncjobs.{layer}.") for name in modules), layer
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_import_alone, modules))
    failures = [
        f"import {module} exited {code}:\n{stderr.strip()}"
        for module, code, stderr in results
        if code != 0
    ]
    assert not failures, f"{len(failures)} of {len(modules)} modules fail alone:\n\n" + (
        "\n\n".join(failures)
    )
