"""A source that passed preflight and now redirects inside is refused where it is read again:
by the media worker (the cut's download) and by the frames of the dashboard and the report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from media.errors import ProbeError
from pipeline.clips.media_files import download
from pipeline.context import Context
from producer.report_html import frame_grab
from storage.errors import SourceGone
from tests.hostile.proxy import HostileProxy, InternalServer


@pytest.fixture
def servers() -> Iterator[tuple[HostileProxy, InternalServer]]:
    internal = InternalServer()
    internal.start()
    proxy = HostileProxy("http://127.0.0.1:1", internal)  # only its own /_hostile/ paths
    proxy.start()
    yield proxy, internal
    proxy.stop()
    internal.stop()


def test_a_source_redirecting_inside_is_refused_by_the_media_worker_and_the_frames(
    settings: Settings, servers: tuple[HostileProxy, InternalServer], tmp_path: Path
) -> None:
    proxy, internal = servers
    # The proxy is a provider's base URL, so its origin is trusted; the internal one is not.
    runway = settings.runway.model_copy(update={"base_url": f"{proxy.origin}/runway"})
    ctx = Context.from_settings(
        settings.model_copy(update={"allow_private_sources": False, "runway": runway})
    )
    source = f"{proxy.origin}/_hostile/hop1"
    internal_host = f"127.0.0.1:{internal.server.server_port}"
    with pytest.raises(SourceGone, match=f"refused: {internal_host}: plain http"):
        download(ctx, source, tmp_path / "source.mp4")
    with pytest.raises(ProbeError, match=f"refused: {internal_host}: plain http"):
        frame_grab(None, http=ctx.http)(source, 0.5)
    assert internal.hits == [] and not (tmp_path / "source.mp4").exists()
    ctx.close()
