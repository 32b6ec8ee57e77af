"""The built-in profiles of the five APIs in shared/seeds, by name (see each module).

Imported at the end of :mod:`._profiles`, which registers them in ``PROFILES``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._profile_compileo import COMPILEO
from ._profile_dataiku import DATAIKU
from ._profile_fiddler import FIDDLER
from ._profile_job_management import JOB_MANAGEMENT
from ._profile_mammoth import MAMMOTH
from ._profiles import Profile

__all__ = ["BUILTINS"]

BUILTINS: Mapping[str, Profile] = {
    profile.name: profile for profile in (COMPILEO, JOB_MANAGEMENT, MAMMOTH, FIDDLER, DATAIKU)
}
"""``compileo``, ``job-management``, ``mammoth``, ``fiddler`` and ``dataiku``."""
