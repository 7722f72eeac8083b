"""Re-run: a new paid try of something already STORED, with an edited prompt or seed.

A single job is re-run as a new job ``{item}.rerun{n}`` beside it. One segment of a stored
clip is re-run as a new segment job (its output under ``{item}.rerun{n}/segments/``, so the
first render is kept) that takes the old one's place in the clip: the clip goes back to
EDITING with its stitch claim forgotten and the old job no longer counted as stored, so the
new segment, once stored, claims the stitch, and the clip is stitched again. The old job stays
in the ledger (it was paid) and the clip names it in ``superseded``, so costs roll up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from config.settings import Settings
from jobs.clips.record import Clip, ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Event, Job, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.operations.sends import Outcome, Sends
from providers.errors import InvalidRequest
from providers.registry import validate_request

MAX_RERUNS = 100
MAX_PROMPT = 2000


def edited_request(
    settings: Settings, job: Job, prompt: str | None, seed: int | None
) -> EditRequest:
    """``job``'s request with the new prompt and/or seed, checked for its provider (a prompt
    or seed equal to the current one is no change).

    Raises ValueError (the message names the field) when either is refused, or nothing changes.
    """
    changes: dict[str, object] = {}
    if prompt is not None and prompt.strip()[:MAX_PROMPT] != job.request.prompt:
        changes["prompt"] = prompt.strip()[:MAX_PROMPT]
    if seed is not None and seed != job.request.seed:
        changes["seed"] = seed
    if not changes:
        raise ValueError("give a new prompt or a new seed")
    try:
        request = EditRequest(**{**job.request.model_dump(), **changes})
        validate_request(job.provider, settings, request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = first["loc"][0] if first["loc"] else "request"
        raise ValueError(f"{where}: {first['msg']}") from None
    except InvalidRequest as exc:
        raise ValueError(f"{'/'.join(changes)}: {exc}") from None
    return request


def fresh_copy(job: Job, job_id: str, item: str, request: EditRequest, now: datetime) -> Job:
    """A QUEUED job like ``job`` (route, policy, priority, clip and segment kept) with
    ``request``, nothing of the old try carried over."""
    made = Event(at=now, state=JobState.QUEUED, detail=f"re-run of {job.id} ({job.item})")
    return job.derive(item, now, id=job_id, request=request, events=(made,))


def _add_numbered(ledger: Ledger, make: Callable[[int], Job], base_item: str) -> Job:
    # The first free number wins: adding is atomic, so two clicks make two distinct re-runs.
    for number in range(1, MAX_RERUNS + 1):
        new = make(number)
        if ledger.add([new])[0]:
            return new
    raise ValueError(f"{base_item} has been re-run {MAX_RERUNS} times already")


def rerun_job(
    ledger: Ledger, settings: Settings, job: Job, now: datetime,
    prompt: str | None = None, seed: int | None = None,
) -> Outcome:  # fmt: skip
    """A new job for a STORED job's source with the edited prompt/seed, queued.

    Raises ValueError (the message says why) for a job that is not STORED, a segment (re-run
    it through its clip) or a refused prompt or seed.
    """
    if job.clip_id is not None:
        raise ValueError(f"{job.item} is a segment: re-run it from its clip")
    if job.state is not JobState.STORED:
        raise ValueError(f"only a STORED job can be re-run, {job.item} is {job.state}")
    request = edited_request(settings, job, prompt, seed)

    def make(number: int) -> Job:
        item = f"{job.item}.rerun{number}"
        return fresh_copy(job, job_id_for(job.batch, item), item, request, now)

    new = _add_numbered(ledger, make, job.item)
    return Outcome(f"queued {new.item} (about ${new.estimated_cost_usd:.2f})", Sends([new]))


def rerun_segment(
    ledger: Ledger, clips: ClipStore, settings: Settings, clip_id: str, index: int,
    now: datetime, prompt: str | None = None, seed: int | None = None,
) -> Outcome:  # fmt: skip
    """Re-run segment ``index`` of a STORED clip; the clip is stitched again once it is stored.

    Raises ValueError (the message says why) when the clip is not STORED, has no such segment,
    or the prompt or seed is refused.
    """
    clip = clips.get(clip_id)
    if clip is None:
        raise ValueError(f"no clip {clip_id}")
    if clip.state is not ClipState.STORED:
        raise ValueError(f"only a STORED clip's segment can be re-run, {clip.item} is {clip.state}")
    if not 1 <= index <= len(clip.segments):
        raise ValueError(f"segment: {clip.item} has segments 1 to {len(clip.segments)}")
    ref = clip.segments[index - 1]
    old = ledger.get(ref.job_id)
    if old is None or old.state is not JobState.STORED:
        raise ValueError(f"segment {index} of {clip.item} is not STORED")
    request = edited_request(settings, old, prompt, seed)

    def make(number: int) -> Job:
        item = f"{clip.item}.rerun{number}"
        job_id = job_id_for(clip.batch, f"{clip.item}\x00segment:{index:03d}\x00rerun:{number}")
        return fresh_copy(old, job_id, item, request, now)

    new = _add_numbered(ledger, make, f"segment {index} of {clip.item}")
    if _swap_segment(clips, clip, index, old, new, now) is None:
        ledger.transition(new.id, JobState.CANCELLED, expect={JobState.QUEUED}, now=now,
                          detail="its clip moved before the re-run started")  # fmt: skip
        raise ValueError(f"{clip.item} moved meanwhile; try again")
    message = f"queued segment {index} of {clip.item} again (about ${new.estimated_cost_usd:.2f})"
    return Outcome(message + "; the clip is stitched again once it is stored", Sends([new]))


def _swap_segment(
    clips: ClipStore, clip: Clip, index: int, old: Job, new: Job, now: datetime
) -> Clip | None:
    refs = list(clip.segments)
    refs[index - 1] = refs[index - 1].model_copy(update={"job_id": new.id})
    moved = clips.move(
        clip, ClipState.EDITING, expect={ClipState.STORED}, now=now, reopen=True,
        detail=f"segment {index} re-run as {new.id} ({_what(old, new)}); {old.id} superseded",
        segments=tuple(refs), superseded=(*clip.superseded, old.id),
    )  # fmt: skip
    if moved is not None:
        # Not counted as stored any more: the new segment's STORED completes the clip again.
        # Nothing else of the clip can be stored meanwhile (the new job is not sent yet).
        clips.forget_stored(clip.id, old.id)
    return moved


def _what(old: Job, new: Job) -> str:
    changed = []
    if old.request.prompt != new.request.prompt:
        changed.append(f"prompt {new.request.prompt!r}")
    if old.request.seed != new.request.seed:
        changed.append(f"seed {new.request.seed}")
    return ", ".join(changed) or "same request"
