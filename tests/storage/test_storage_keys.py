"""Deterministic, safe S3 keys and s3:// URIs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.object_keys import output_key, parse_s3_uri, safe_segment, staging_key

SAFE_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")


def test_output_key_is_prefix_batch_item_mp4() -> None:
    assert output_key("outputs", "b-2024", "clip_01") == "outputs/b-2024/clip_01.mp4"


def test_output_key_trims_slashes_of_the_prefix_and_allows_none() -> None:
    assert output_key("/outputs/v2/", "b", "i") == "outputs/v2/b/i.mp4"
    assert output_key("", "b", "i") == "b/i.mp4"


def test_unsafe_item_is_slugged_with_a_hash_that_keeps_it_distinct() -> None:
    spaced = output_key("o", "b", "my clip/01")
    underscored = output_key("o", "b", "my_clip_01")
    assert spaced.startswith("o/b/my_clip_01-")
    assert spaced != underscored
    assert spaced == output_key("o", "b", "my clip/01")


@pytest.mark.parametrize("value", [".", "..", "a" * 500, "../../etc", "é"])
def test_dot_segments_long_and_non_ascii_values_are_made_safe(value: str) -> None:
    segment = safe_segment(value)
    assert segment not in (".", "..")
    assert len(segment) <= 200
    assert set(segment) <= SAFE_KEY_CHARS - {"/"}


def test_empty_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        output_key("o", "b", "")


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_output_keys_are_safe_and_distinct_for_distinct_items(first: str, second: str) -> None:
    one, two = output_key("p", "batch", first), output_key("p", "batch", second)
    assert set(one) <= SAFE_KEY_CHARS
    assert one.count("/") == 2
    assert (one == two) == (first == second)


def test_staging_key_is_keyed_by_digest() -> None:
    assert staging_key("staging", "ab12", "clip one.mov").startswith("staging/ab12/clip_one.mov-")
    assert staging_key("staging/", "ab12", "clip.mov") == "staging/ab12/clip.mov"


def test_parse_s3_uri_splits_bucket_and_key() -> None:
    assert parse_s3_uri("s3://bucket/a/b/c.mp4") == ("bucket", "a/b/c.mp4")
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    assert parse_s3_uri("s3://bucket/prefix/") == ("bucket", "prefix/")


@pytest.mark.parametrize("uri", ["https://bucket/key", "bucket/key", "s3://", "s3:///key"])
def test_parse_s3_uri_refuses_what_is_not_an_s3_uri(uri: str) -> None:
    with pytest.raises(ValueError, match=r"s3://|bucket"):
        parse_s3_uri(uri)
