"""The pytest plugin's tests run small test files of a user's with pytester.

pytester is enabled for the whole run in pyproject's ``addopts`` (``-p pytester``): pytest
refuses ``pytest_plugins`` in a conftest below the root one.
"""
