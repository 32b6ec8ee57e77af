"""URLs (``_urls.py``): every id is exactly one path segment that decodes back to it, dot
segments cannot be normalised away, and ``ids=`` splits back on its literal commas."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncjobs._urls import build_url, encode_ids, fill_path, quote_segment


def test_dot_segments_are_encoded() -> None:
    """'.' and '..' cannot be resolved away by URL normalisation."""
    assert quote_segment(".") == "%2E"
    assert quote_segment("..") == "%2E%2E"
    assert quote_segment("...") == "..."
    assert fill_path("/jobs/{job_id}/log", {"job_id": "a/b"}) == "/jobs/a%2Fb/log"
    with pytest.raises(KeyError, match="job_id"):
        fill_path("/jobs/{job_id}", {})


_IDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1)


@given(_IDS)
def test_any_id_is_exactly_one_segment_that_decodes_back(job_id: str) -> None:
    """For every id, the URL has one segment for it, which decodes to the id."""
    url = build_url("http://h/api/v1", fill_path("/jobs/{job_id}/log", {"job_id": job_id}))
    segments = url.raw_path.split("/")
    assert segments[:3] == ["", "api", "v1"] and segments[-1] == "log" and len(segments) == 6
    assert "?" not in url.raw_path and "#" not in str(url)
    assert unquote(segments[4]) == job_id


@given(st.lists(_IDS, min_size=1, max_size=20))
def test_encoded_ids_split_back_on_commas(ids: list[str]) -> None:
    """Splitting ids= on literal commas and decoding each gives the ids back."""
    assert [unquote(part) for part in encode_ids(ids).split(",")] == ids
