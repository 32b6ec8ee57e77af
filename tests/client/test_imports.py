"""Every module of the package imports alone, each in a fresh interpreter: no import-order
trap (a module that works only once another was imported first) can hide behind the suite's
own import order."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncjobs

# A fresh interpreter imports aiohttp in well under a second; the bound only stops a hang.
TIMEOUT = 60.0


def _modules() -> list[str]:
    """Every module of the package, found on disk: ``pkgutil.iter_modules`` package by package
    (``walk_packages`` would import each package here, in this process, where a broken one
    fails the walk instead of showing its own error below)."""
    found = ["asyncjobs"]

    def walk(path: str, prefix: str) -> None:
        for info in pkgutil.iter_modules([path], prefix):
            found.append(info.name)
            if info.ispkg:
                walk(os.path.join(path, info.name.rpartition(".")[2]), info.name + ".")

    walk(asyncjobs.__path__[0], "asyncjobs.")
    return sorted(found)


def _import_alone(module: str, env: dict[str, str]) -> tuple[str, int, str]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return module, -1, f"still importing after {TIMEOUT} s"
    return module, done.returncode, done.stderr


def test_every_module_imports_alone_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """``python -c "import <module>"`` exits 0 for each module of asyncjobs."""
    modules = _modules()
    # Fresh interpreters, one bytecode cache: without it (PYTHONDONTWRITEBYTECODE) each of
    # them compiles the whole package again. The cache lives outside the source tree.
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # The package under test, not another copy the interpreter might find first.
    source = str(Path(asyncjobs.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    # The layers are all there (a walk that found nothing would pass vacuously).
    for layer in ("profiles", "_transport", "live", "cli", "server", "testing"):
        assert any(name.startswith(f"asyncjobs.{layer}.") for name in modules), layer
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda module: _import_alone(module, env), modules))
    failures = [
        f"import {module} exited {code}:\n{stderr.strip()}"
        for module, code, stderr in results
        if code != 0
    ]
    assert not failures, f"{len(failures)} of {len(modules)} modules fail alone:\n\n" + (
        "\n\n".join(failures)
    )
