"""Seams through real workers: a 12 s clip of 3 segments rendered with the emulator's per-job
drift, stitched with the seam handling off and on; each seam's score is stored on the clip and
shown by ``restyle job``.

The emulator draws each render's look from its input, so the three segments come back in three
different looks: hard joins show it, colour matching and crossfades must hide it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from devstack import Stack
from jobs.clips.record import Clip, ClipState, Continuity
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from tests.pipeline.clip_support import Submit, restyle, wait_for_clip

pytestmark = pytest.mark.slow


def stitched(submit: Submit, source: Path, ledger: Ledger, **handling: object) -> Clip:
    clip = submit(source, continuity=Continuity.NONE, seed=7, **handling)
    assert clip.planned_segments == 3
    return clip


def test_seam_scores_are_recorded_and_the_handling_brings_them_under_the_threshold(
    pipeline_stack: Stack,
    submitter: Submit,
    ledger: Ledger,
    emulator: httpx.Client,
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    tmp_path: Path,
) -> None:
    assert emulator.get("/_emulator/config").json()["drift"]["enabled"]
    source = make_av_clip(tmp_path / "pan.mp4", 12.0, 320, 180, 24, pattern="pan")
    off = stitched(submitter, source, ledger, overlap_frames=0, colour_match=False)
    on = stitched(submitter, source, ledger)  # the defaults: crossfaded and colour-matched
    store = ClipStore(ledger.client)
    hard, handled = (wait_for_clip(store, clip.id, 240) for clip in (off, on))

    assert hard.state is handled.state is ClipState.STORED, (hard.events, handled.events)
    limit = worker_settings.seams.ratio_limit
    assert [seam.index for seam in hard.seams] == [seam.index for seam in handled.seams] == [1, 2]
    assert hard.flagged_seams, hard.seams  # the drift shows at a hard join
    assert max(seam.ratio for seam in hard.seams) > limit
    assert not handled.flagged_seams, handled.seams
    assert all(seam.ratio < limit for seam in handled.seams)
    assert "is visible" in hard.events[-1].detail  # flagged seams are named in the history

    shown = restyle(services.env(**worker_env), "job", handled.id)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()]
    seams = [row for row in rows if row and row[0] in ("1-2", "2-3")]
    assert [row[-1] for row in seams] == ["ok", "ok"]
