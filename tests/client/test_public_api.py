"""The public namespace matches DESIGN.md section 3, and the package's layers keep
to their side (the server and the client never import each other)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest

import asyncjobs

DESIGN_NAMES = {
    "Client",
    "SyncClient",
    "Job",
    "JobStatus",
    "QueueStats",
    "CleanupResult",
    "RetryPolicy",
    "Profile",
    "AsyncJobsError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "JobNotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "ProtocolError",
    "UnsupportedOperationError",
    "JobFailedError",
    "JobCancelledError",
    "JobTimeoutError",
}


def test_every_design_name_is_exported() -> None:
    assert set(asyncjobs.__all__) >= DESIGN_NAMES
    for name in asyncjobs.__all__:
        assert hasattr(asyncjobs, name), name


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(asyncjobs).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public <= set(asyncjobs.__all__)
    assert list(asyncjobs.__all__) == sorted(asyncjobs.__all__, key=str)


@pytest.mark.parametrize("module", ["asyncjobs.sse", "asyncjobs.testing", "asyncjobs.server"])
def test_public_submodules_declare_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


SANS_IO = {"_models", "_converter", "_exceptions", "_sse"}


def _imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_server_never_imports_the_client() -> None:
    """asyncjobs.server shares only the sans-I/O modules with the client."""
    server_dir = pathlib.Path(asyncjobs.__file__).parent / "server"
    paths = list(server_dir.rglob("*.py"))
    assert any(path.parent.name == "shapes" for path in paths)
    for path in paths:
        for module in _imported_modules(path):
            if module.startswith("asyncjobs.server") or (
                module.startswith(".") and not module.startswith("..")
            ):
                continue  # within the server package
            if module.startswith(("..", "asyncjobs")):
                name = module.lstrip(".").removeprefix("asyncjobs").lstrip(".")
                assert name.split(".")[0] in SANS_IO, f"{path.name} imports {module}"


def test_the_client_never_imports_the_server() -> None:
    package = pathlib.Path(asyncjobs.__file__).parent
    # The command line (and __main__) may start the server; the client's own layers may not.
    client_modules = [
        path for path in package.glob("_*.py") if not path.name.startswith(("_cli", "__main__"))
    ]
    for layer in ("_transport", "live", "profiles"):
        client_modules += package.joinpath(layer).glob("*.py")
    assert len(client_modules) > 20
    for path in client_modules:
        name = str(path.relative_to(package))
        for module in _imported_modules(path):
            assert "server" not in module and "testing" not in module, f"{name}: {module}"
