"""SOURCE expansion and source location against moto's S3 and the local disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from config.settings import Settings
from producer.library import (
    SourceError,
    SourceLocator,
    expand_source,
    file_sha256,
    list_s3_videos,
)
from producer.safety import UnreachableSource, UnsafeSource

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_an_s3_prefix_lists_its_videos_recursively_across_pages(
    s3: S3Client, library: str, s3_bucket: str
) -> None:
    expected = [
        f"s3://{s3_bucket}/library/alpha.mp4",
        f"s3://{s3_bucket}/library/beta.mp4",
        f"s3://{s3_bucket}/library/fake.mp4",
        f"s3://{s3_bucket}/library/nested/gamma.mov",
    ]
    assert list_s3_videos(s3, library, page_size=2) == expected
    expanded = expand_source(library, s3)
    assert [(row.line, row.source) for row in expanded.rows] == list(enumerate(expected, 1))


def test_an_s3_prefix_without_videos_is_a_source_error(s3: S3Client, s3_bucket: str) -> None:
    with pytest.raises(SourceError, match="no video objects"):
        expand_source(f"s3://{s3_bucket}/nothing-here/", s3)


def test_listing_a_missing_bucket_is_a_source_error(s3: S3Client) -> None:
    with pytest.raises(SourceError, match="NoSuchBucket"):
        expand_source("s3://no-such-bucket-anywhere/x/", s3)


def test_a_local_folder_expands_to_its_videos_recursively(clips: Path) -> None:
    expanded = expand_source(str(clips), None)
    names = [Path(row.source).relative_to(clips).as_posix() for row in expanded.rows]
    assert names == ["alpha.mp4", "beta.mp4", "fake.mp4", "nested/gamma.mov", "wide.mkv"]
    assert all(Path(row.source).is_absolute() for row in expanded.rows)


def test_a_manifest_resolves_relative_paths_against_its_own_folder(
    tmp_path: Path, clips: Path
) -> None:
    manifest = tmp_path / "lib.csv"
    manifest.write_text(
        f"source,seed\n{clips / 'alpha.mp4'}\nclips/b.mp4\nhttps://x.example/c.mp4,x\n"
    )
    expanded = expand_source(str(manifest), None)
    assert [row.source for row in expanded.rows] == [
        str(clips / "alpha.mp4"),
        str(tmp_path / "clips" / "b.mp4"),
    ]
    assert [(e.line, e.field) for e in expanded.errors] == [(4, "seed")]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/no/such/place", "no such file or folder"),
        ("ftp://example.com/a.mp4", "ftp:// sources are not accepted"),
    ],
)
def test_sources_restyle_cannot_read_are_refused(source: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        expand_source(source, None)


def test_a_local_file_that_is_neither_manifest_nor_video_is_refused(clips: Path) -> None:
    with pytest.raises(SourceError, match="neither a manifest"):
        expand_source(str(clips / "notes.txt"), None)


def test_an_s3_object_becomes_a_presigned_url_that_serves_it(
    producer_settings: Settings, s3: S3Client, library: str, clips: Path
) -> None:
    located = SourceLocator(producer_settings, s3).locate(f"{library}alpha.mp4")
    assert located.probe_target == located.provider_url
    assert located.size_bytes == (clips / "alpha.mp4").stat().st_size
    query = parse_qs(urlsplit(located.provider_url).query)
    assert query["X-Amz-Expires"] == [str(producer_settings.presign_ttl_s)]
    body = httpx.get(located.provider_url).content
    assert body == (clips / "alpha.mp4").read_bytes()


def test_a_missing_s3_object_is_unreachable(
    producer_settings: Settings, s3: S3Client, library: str
) -> None:
    with pytest.raises(UnreachableSource, match=r"missing\.mp4"):
        SourceLocator(producer_settings, s3).locate(f"{library}missing.mp4")


def test_a_local_file_is_staged_once_by_content_and_presigned(
    producer_settings: Settings, s3: S3Client, s3_bucket: str, clips: Path
) -> None:
    path = clips / "beta.mp4"
    key = f"staging/{file_sha256(path)}/beta.mp4"
    locator = SourceLocator(producer_settings, s3)

    located = locator.locate(str(path))
    assert located.probe_target == str(path)
    assert httpx.get(located.provider_url).content == path.read_bytes()

    s3.put_object(Bucket=s3_bucket, Key=key, Body=b"already staged")
    locator.locate(str(path))
    staged = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert staged == b"already staged"  # the second submit uploaded nothing


def test_a_dry_run_presigns_the_staging_key_without_uploading(
    producer_settings: Settings, s3: S3Client, s3_bucket: str, clips: Path
) -> None:
    located = SourceLocator(producer_settings, s3).locate(str(clips / "alpha.mp4"), stage=False)
    assert "/staging/" in located.provider_url
    assert s3.list_objects_v2(Bucket=s3_bucket, Prefix="staging/")["KeyCount"] == 0


def test_file_urls_are_refused_even_when_private_sources_are_allowed(
    producer_settings: Settings,
) -> None:
    with pytest.raises(UnsafeSource, match="file://"):
        SourceLocator(producer_settings, None).locate("file:///etc/passwd")


def test_a_reference_image_must_be_a_fetchable_url(producer_settings: Settings) -> None:
    strict = producer_settings.model_copy(update={"allow_private_sources": False})
    locator = SourceLocator(strict, None)
    with pytest.raises(UnsafeSource, match="https:// URL"):
        locator.check_reference("s3://bucket/ref.png")
    with pytest.raises(UnsafeSource, match="loopback"):
        locator.check_reference("https://127.0.0.1/ref.png")


def test_a_manifest_in_s3_resolves_relative_sources_to_keys_beside_it(
    s3: S3Client, library: str, s3_bucket: str
) -> None:
    body = b"source,key\nalpha.mp4,a\nnested/gamma.mov,g\nhttps://x.example/c.mp4,c\n"
    s3.put_object(Bucket=s3_bucket, Key="library/batch.csv", Body=body)
    expanded = expand_source(f"{library}batch.csv", s3)
    assert [row.source for row in expanded.rows] == [
        f"{library}alpha.mp4",
        f"{library}nested/gamma.mov",
        "https://x.example/c.mp4",
    ]
    with pytest.raises(SourceError, match="NoSuchKey"):
        expand_source(f"{library}missing.jsonl", s3)


def test_an_untyped_s3_source_is_seen_and_its_url_says_a_video_type(
    producer_settings: Settings, s3: S3Client, library: str, s3_bucket: str, clips: Path
) -> None:
    # upload_file without ContentType stores binary/octet-stream, which Runway refuses.
    stored = s3.head_object(Bucket=s3_bucket, Key="library/alpha.mp4")["ContentType"]
    assert not stored.startswith("video/")
    located = SourceLocator(producer_settings, s3).locate(f"{library}alpha.mp4")
    assert located.retyped_from == stored
    answer = httpx.get(located.provider_url)
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.content == (clips / "alpha.mp4").read_bytes()
    typed = "library/typed.mov"
    s3.upload_file(str(clips / "alpha.mp4"), s3_bucket, typed,
                   ExtraArgs={"ContentType": "video/quicktime"})  # fmt: skip
    assert (
        SourceLocator(producer_settings, s3).locate(f"s3://{s3_bucket}/{typed}").retyped_from
        is None
    )
