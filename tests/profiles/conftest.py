"""The profiles' tests (``asyncjobs/profiles``): each API's real payloads read sans-I/O
(``test_profile_payloads.py``, ``test_profiles_native.py``), every built-in shape end to end
against ``JobServer`` (``test_profiles.py``, which parametrizes its own ``server`` and
``client`` over the shapes), and the real APIs' quirks staged by tiny apps
(``test_hostile_profiles.py``).

No fixture is shared by several of these files; ``fast`` comes from the root conftest.
"""
