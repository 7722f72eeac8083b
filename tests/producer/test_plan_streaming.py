"""A large manifest streams: rows are read as preflight takes them, planned rows are spooled to
disk, repeats are found in a table of hashes, problems are counted past the ones kept, and the
enqueue writes and dispatches in chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

import producer.batch as batch_module
import producer.planned as planned_module
from config.settings import Settings
from jobs.batches import BatchStore
from jobs.ledger import Ledger
from jobs.models import Job
from producer.batch import PreflightFailed, SubmitOptions, check_plan, enqueue_batch, plan_batch
from producer.manifest import Findings, ManifestRow, stream_manifest
from producer.plan_tally import ProblemList
from producer.seen import SeenLines
from producer.spool import Spool

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


def test_a_spool_past_one_chunk_is_read_back_in_order_as_often_as_asked() -> None:
    spool: Spool[tuple[int, str]] = Spool(chunk_items=3)
    for index in range(8):
        spool.append((index, f"row {index}"))
    assert spool.on_disk and len(spool) == 8
    first, second = iter(spool), iter(spool)
    # Two readers interleaved: neither moves the other's place in the file.
    assert [next(first), next(second), next(first)] == [(0, "row 0"), (0, "row 0"), (1, "row 1")]
    assert list(spool) == [(index, f"row {index}") for index in range(8)]
    spool.close()
    assert list(spool) == [] and not spool


def test_seen_lines_remembers_the_first_line_of_each_text_past_its_growth() -> None:
    seen = SeenLines()
    assert [seen.first(f"key{index}", index + 2) for index in range(5000)] == [None] * 5000
    assert len(seen) == 5000
    assert seen.first("key0", 9000) == 2 and seen.first("key4999", 9001) == 5001
    assert "key123" in seen and "key5000" not in seen and len(seen) == 5000


def test_a_manifest_is_read_only_as_far_as_its_rows_are_taken() -> None:
    pulled: list[int] = []

    def lines() -> Iterator[bytes]:
        yield b"source,key\n"
        for index in range(1000):
            pulled.append(index)
            yield f"clip{index}.mp4,k{index}\n".encode()

    found = Findings()
    rows = stream_manifest(lines(), "big.csv", found)
    first = next(rows)
    assert (first.line, first.source, first.key) == (2, "clip0.mp4", "k0")
    assert len(pulled) <= 2  # csv reads a line ahead at most, never the file


def test_a_stream_reports_bad_bytes_lone_carriage_returns_and_repeats_by_line() -> None:
    data = [b"source,key\r", b"a.mp4,one\r", b"b\xff.mp4,two\n", b"c.mp4,one\n", b"d.mp4,four\n"]
    found = Findings()
    rows = list(stream_manifest(iter(data), "old-mac.csv", found))
    assert [(row.line, row.key) for row in rows] == [(2, "one"), (5, "four")]
    assert [(e.line, e.field, e.message) for e in found.all] == [
        (3, None, "not valid UTF-8 (byte 2 of the line)"),
        (4, "key", "duplicate key 'one' (first on line 2)"),
    ]


def test_past_the_kept_problems_a_manifest_counts_the_rest() -> None:
    lines = [b"source,seed\n", *(f"s{index}.mp4,x\n".encode() for index in range(50))]
    found = Findings(kept=10)
    assert list(stream_manifest(iter(lines), "bad.csv", found)) == []
    assert (len(found.errors), found.error_count) == (10, 50)
    assert found.errors[0].line == 2 and found.errors[-1].line == 11


def _library(tmp_path: Path, clips: Path, rows: int, extra: str = "") -> Path:
    names = ("alpha.mp4", "beta.mp4")
    manifest = tmp_path / "library.csv"
    lines = "".join(f"{clips}/{names[i % 2]},k{i},winter {i % 3}\n" for i in range(rows))
    manifest.write_text("source,key,prompt\n" + lines + extra)
    return manifest


def test_a_plan_larger_than_its_memory_chunk_is_spooled_named_and_counted(
    producer_settings: Settings, s3: S3Client, clips: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(planned_module, "Spool", lambda: Spool(chunk_items=16))
    repeat = f"{clips}/alpha.mp4,k7,again\n{clips}/beta.mp4,k-extra,winter 1\n"
    manifest = _library(tmp_path, clips, 100, extra=repeat)
    options = SubmitOptions(provider="segmind", dry_run=True)
    plan = plan_batch(str(manifest), options, producer_settings, NOW, s3=s3)

    assert plan.jobs.on_disk and len(plan.jobs) == 101 and plan.summary.jobs >= 101
    ((row, field, message),) = [(p.row, p.field, p.message) for p in plan.problems]
    assert (row, field, message) == (102, "key", "duplicate key 'k7' (first on line 9)")
    assert plan.problem_count == 1 and plan.prompt_summary == "3 prompts"
    planned = list(plan.jobs)
    # Every row shares its output name with others of its source: each falls back to its item.
    assert [row.job.output_name for row in planned] == [row.job.item for row in planned]
    assert [row.row for row in planned] == [*range(2, 102), 103]


def test_problems_past_the_kept_ones_are_counted_and_said(
    producer_settings: Settings, s3: S3Client, clips: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(batch_module, "ProblemList", lambda: ProblemList(kept=5))
    bad = "".join(f"{tmp_path}/missing{i}.mp4,m{i},x\n" for i in range(12))
    manifest = _library(tmp_path, clips, 4, extra=bad)
    plan = plan_batch(str(manifest), SubmitOptions(provider="segmind"), producer_settings, NOW,
                      s3=s3)  # fmt: skip
    assert (len(plan.problems), plan.problem_count, len(plan.jobs)) == (5, 12, 4)
    with pytest.raises(PreflightFailed) as caught:
        check_plan(plan)
    text = str(caught.value)
    assert text.startswith("12 problem(s); nothing was queued") and "... and 7 more" in text
    assert f"{manifest}: row 6: source:" in text


class Dispatched:
    """Records each dispatch; the call numbered ``fail_on`` raises, as a broker going away."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, jobs: Sequence[Job]) -> None:
        if len(self.calls) == self.fail_on:
            raise ConnectionError("the broker went away")
        self.calls.append([job.id for job in jobs])


def test_an_enqueue_writes_and_dispatches_a_chunk_at_a_time_and_a_resubmit_completes_it(
    producer_settings: Settings, s3: S3Client, clips: Path, tmp_path: Path,
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(batch_module, "ENQUEUE_CHUNK", 7)
    manifest = _library(tmp_path, clips, 20)
    # Runway's aleph2 keeps these clips' shape: plain jobs, not clips.
    options = SubmitOptions(provider="runway", batch="chunks")
    plan = plan_batch(str(manifest), options, producer_settings, NOW, s3=s3)
    ledger, batches = Ledger(redis_client), BatchStore(redis_client)

    # The broker goes away at the second chunk: the first is written and sent, the second
    # written only, the third never reached.
    broken = Dispatched(fail_on=1)
    with pytest.raises(ConnectionError):
        enqueue_batch(plan, ledger, batches, broken, NOW)
    assert [len(call) for call in broken.calls] == [7]
    assert len(ledger.batch_ids("chunks")) == 14

    # The same submit again writes the rest and sends every job still QUEUED.
    dispatch = Dispatched()
    again = enqueue_batch(plan, ledger, batches, dispatch, NOW)
    assert (again.created, again.existing, again.redispatched) == (6, 14, 14)
    assert [len(call) for call in dispatch.calls] == [7, 7, 6]
    ids = ledger.batch_ids("chunks")
    assert len(ids) == 20 and sorted(i for call in dispatch.calls for i in call) == ids


def test_the_rows_of_a_manifest_source_stream(clips: Path, tmp_path: Path) -> None:
    from producer.library import expand_source

    expanded = expand_source(str(_library(tmp_path, clips, 3)), None)
    assert not isinstance(expanded.rows, list)
    rows: list[ManifestRow] = list(expanded.rows)
    assert [row.key for row in rows] == ["k0", "k1", "k2"] and expanded.errors == []
