"""Retry and cancel for clips: reopen or end the clip, its segments follow.

Retry re-runs only what failed: a clip that failed while cutting is cut again; one with failed
segments goes back to EDITING with its stitch claim forgotten, so that the segment stored last
(a retried one) claims the stitch in the ledger again; stored segments are kept and never paid
twice. A clip whose segments are all stored (its stitch failed) keeps its claim and is stitched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from jobs.clips.record import ClipState
from jobs.clips.store import ClipStore
from pipeline.decisions import ClipNext, ClipStep

ENDED = frozenset({ClipState.FAILED})
"""What retry reopens: a cancelled clip stays cancelled (its segments are not retried either)."""


def reopen_clips(store: ClipStore, clip_ids: Iterable[str], now: datetime) -> list[ClipNext]:
    """Reopen the ended clips of ``clip_ids``; the media steps to send for them now."""
    steps: list[ClipNext] = []
    for clip in store.get_many(sorted(set(clip_ids))):
        if clip.state not in ENDED:
            continue
        if not clip.segments:
            moved = store.move(clip, ClipState.CUTTING, expect=ENDED, now=now,
                               detail="cut again by a retry")  # fmt: skip
            if moved is not None:
                steps.append(ClipNext(ClipStep.CUT, clip.id))
            continue
        complete = store.stored_segments(clip.id) >= set(clip.segment_ids())
        moved = store.move(clip, ClipState.EDITING, expect=ENDED, now=now, reopen=not complete,
                           detail="reopened by a retry", failure_message=None)  # fmt: skip
        if moved is not None and complete and store.stitch_claimed(clip.id):
            steps.append(ClipNext(ClipStep.STITCH, clip.id))
    return steps


def cancel_clips(store: ClipStore, batch: str, now: datetime) -> int:
    """Cancel every unfinished clip of ``batch`` (their segments are cancelled as jobs)."""
    cancelled = 0
    for clip in store.get_many(store.batch_ids(batch)):
        if clip.state.terminal:
            continue
        done = store.move(clip, ClipState.CANCELLED, expect={clip.state}, now=now,
                          detail="cancelled by the producer")  # fmt: skip
        if done is not None:
            store.unwatch(clip.id)
            cancelled += 1
    return cancelled
