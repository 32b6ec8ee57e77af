"""The server's errors about job ids (404 unknown, 403 another caller's): one id or a list."""

from __future__ import annotations

from asyncjobs.server._errors import forbidden, not_found


def test_errors_about_one_job_or_several_name_them_and_list_their_ids() -> None:
    one = not_found(["a"])
    assert (one.status, one.details, one.extra) == (404, "no job with id 'a'", {"job_ids": ["a"]})
    several = not_found(iter(["a", "b"]))
    assert several.details == "no jobs with ids 'a', 'b'"
    assert several.extra == {"job_ids": ["a", "b"]}
    mine = forbidden(["{x}"])
    assert (mine.status, mine.details) == (403, "job '{x}' belongs to another caller")
    assert forbidden(["a", "b"]).details == "jobs 'a', 'b' belong to another caller"
