"""Former home of the command line, now :mod:`asyncjobs.cli`.

Kept only because ``tests/test_testing.py`` (owned by the tests refactor) still imports
``asyncjobs._cli.main``; delete this module once it imports ``asyncjobs.cli``.
"""

from asyncjobs.cli import main

__all__ = ["main"]
