"""A batch as the producer submitted it: one item per whole clip and per single job (a clip's
segments are shown on the clip's own page), each with its state, providers, progress and the
cost rolled up from its jobs. Pure, over the index's rows and the clip records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.clips.record import Clip
from producer.tally import ClipRollup, JobFacts, rollup


@dataclass(frozen=True)
class Item:
    """One row of a batch page."""

    id: str
    kind: str
    """``clip`` or ``job``."""
    item: str
    state: str
    provider: str
    failure_kind: str | None
    cost_usd: float
    stored_bytes: int
    segments: int = 0
    segments_stored: int = 0
    created_at: str = ""


def clip_item(clip: Clip, money: ClipRollup) -> Item:
    """A clip's row: its state, providers, segments stored of all, and its roll-up."""
    return Item(
        id=clip.id,
        kind="clip",
        item=clip.item,
        state=clip.state.value,
        provider=",".join(money.providers),
        failure_kind=None,
        cost_usd=money.cost_usd,
        stored_bytes=money.stored_bytes,
        segments=money.segments,
        segments_stored=money.segments_stored,
        created_at=clip.created_at.isoformat(),
    )


def job_item(row: JobFacts) -> Item:
    """A single job's row."""
    return Item(
        id=row.id,
        kind="job",
        item=row.item,
        state=row.state.value,
        provider=row.provider,
        failure_kind=row.failure_kind,
        cost_usd=row.spent_usd,
        stored_bytes=row.stored_bytes,
    )


def items_of(clips: Sequence[Clip], rows: Sequence[JobFacts]) -> list[Item]:
    """Every item of a batch, by item name (a clip's segments are inside its item)."""
    by_id = {row.id: row for row in rows}
    found = [clip_item(clip, rollup(clip, by_id)) for clip in clips]
    found += [job_item(row) for row in rows if row.clip_id is None]
    return sorted(found, key=lambda item: (item.item, item.id))
