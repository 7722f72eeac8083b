"""`find_cuts`: where a source's hard cuts are, found by PySceneDetect reading through PyAV.

PySceneDetect's `ContentDetector` compares successive frames in HSV after downscaling them
(its default picks a factor for ~256 px wide). Decoding is the cost, so long sources may skip
frames (``frame_skip``), which PySceneDetect allows when no stats file is kept; a skipped cut is
then found to within ``frame_skip + 1`` frames, well inside the planner's one-second snap.
"""

from __future__ import annotations

from pathlib import Path

from media.errors import ProbeError
from media.probe import probe

THRESHOLD = 27.0
MIN_SCENE_S = 0.5


def find_cuts(
    path: str | Path,
    *,
    until_s: float | None = None,
    frame_skip: int = 0,
    threshold: float = THRESHOLD,
) -> tuple[float, ...]:
    """Times in seconds where a new shot starts in the video at ``path`` (first ``until_s``).

    Raises `ProbeError` when the file is not a video or PySceneDetect cannot read it.
    """
    # Imported here: PySceneDetect brings OpenCV (60 MB of RSS), which only the media worker's
    # cut needs; every other worker process imports this module's callers but never cuts.
    from scenedetect import ContentDetector, SceneManager
    from scenedetect.backends.pyav import VideoStreamAv

    # PySceneDetect opens any format FFmpeg knows (text as tty, playlists); ours only videos.
    probe(path)
    try:
        # suppress_output keeps our logging; with it, PySceneDetect's PyAV backend warns that a
        # threaded decoder may lock up, so decode in one thread.
        video = VideoStreamAv(str(path), suppress_output=True)
    except Exception as exc:  # VideoOpenFailure, FrameRateUnavailable, OSError
        raise ProbeError(str(path), f"scene detection cannot read it: {exc}") from exc
    fps = float(video.frame_rate)
    manager = SceneManager()
    manager.add_detector(
        ContentDetector(threshold=threshold, min_scene_len=max(1, round(MIN_SCENE_S * fps)))
    )
    manager.detect_scenes(video, end_time=until_s, frame_skip=frame_skip)
    # get_cut_list() is deprecated in 0.7; every scene after the first starts at a cut.
    return tuple(start.seconds for start, _ in manager.get_scene_list()[1:])


def frame_skip_for(fps: float, duration_s: float, budget_frames: int = 36_000) -> int:
    """A ``frame_skip`` that looks at no more than ``budget_frames`` frames of the source."""
    frames = fps * duration_s
    return 0 if frames <= budget_frames else int(frames // budget_frames)
