"""Real workers against hostile providers: the emulator behind a proxy that turns its answers.

Five jobs, one per provider, run at once (private sources not allowed: only the configured
base URL and the S3 endpoint are trusted at their exact origin):

- runway's output URL points at the instance metadata service on another loopback port;
- segmind's is at the trusted origin and 302s twice, the last hop to that service;
- aimlapi's is at the trusted origin and serves credentials labelled ``video/mp4``;
- crun's is https to a loopback address;
- vibedream fails with a text carrying OSC 52, ESC[2J, rich markup and 20 characters cut
  from the middle of its API key.

Each output job must end FAILED with a reason naming the host, never STORED, and the internal
service is never reached; the failure text is stored redacted and `restyle job` prints it with
its escapes visible.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Service, Stack
from devstack.process import base_env
from devstack.stack import dev_key
from emulator.client import EmulatorAdmin
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from media.samples import make_clip
from tests.hostile.proxy import HostileProxy, InternalServer, Rewrite
from tests.pipeline.conftest import FAST_ENV, make_job, run_to_end, unique_batch

pytestmark = pytest.mark.slow

VIBEDREAM_FAILURE = "Generation failed. Please try again."
FRAGMENT = dev_key(ProviderName.VIBEDREAM)[12:32]
"""20 characters from the middle of the vibedream key: no prefix, no suffix."""
HOSTILE_TEXT = (
    f"failed \x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J [/x] [bold]boom[/] credential {FRAGMENT} bad"
)


@pytest.fixture(scope="module")
def hostile(
    session_stack: Stack, redis_server: Service, s3_server: Service, emulator_server: Service
) -> Iterator[tuple[Stack, HostileProxy, InternalServer, dict[str, str]]]:
    internal = InternalServer()
    internal.start()
    proxy = HostileProxy(emulator_server.url, internal)
    proxy.start()
    env = {**FAST_ENV, "RESTYLE_ALLOW_PRIVATE_SOURCES": "false"}
    for name in ProviderName:
        env[f"RESTYLE_{name.value.upper()}__BASE_URL"] = f"{proxy.origin}/{name.value}"
    worker = session_stack.start_worker(concurrency=4, name=f"hostile{uuid.uuid4().hex[:6]}",
                                        env=env)  # fmt: skip
    try:
        yield session_stack, proxy, internal, session_stack.env(**env)
    finally:
        worker.stop()
        session_stack.workers.remove(worker)
        proxy.stop()
        internal.stop()


def rewrite_for(proxy: HostileProxy, internal: InternalServer) -> Rewrite:
    outputs = re.compile(re.escape(proxy.origin) + r'/[^"]*?_files/[^"]+')
    loopback_https = internal.metadata_url.replace("http://", "https://")
    targets = {
        "runway": internal.metadata_url,
        "segmind": f"{proxy.origin}/_hostile/hop1",
        "aimlapi": f"{proxy.origin}/_hostile/creds",
        "crun": loopback_https,
    }

    def rewrite(path: str, text: str) -> str:
        provider = path.strip("/").split("/")[0]
        if provider == "vibedream":
            return text.replace(VIBEDREAM_FAILURE, json.dumps(HOSTILE_TEXT)[1:-1])
        return outputs.sub(targets[provider], text) if provider in targets else text

    return rewrite


def source_url(stack: Stack, folder: Path) -> str:
    assert stack.s3 is not None
    client = boto3.client("s3", endpoint_url=stack.s3.url, region_name="us-east-1")
    bucket = f"hostile-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.upload_file(str(make_clip(folder / "in.mp4", seconds=1.0)), bucket, "in.mp4",
                       ExtraArgs={"ContentType": "video/mp4"})  # fmt: skip
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "in.mp4"}, ExpiresIn=3600
    )
    return url


def test_hostile_outputs_fail_naming_the_host_and_hostile_text_is_shown_as_written(
    hostile: tuple[Stack, HostileProxy, InternalServer, dict[str, str]],
    emulator: httpx.Client,
    tmp_path: Path,
) -> None:
    stack, proxy, internal, env = hostile
    proxy.rewrite = rewrite_for(proxy, internal)
    EmulatorAdmin(emulator).configure(providers={"vibedream": {"faults": {"job_failure": 1.0}}})
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings()
    from workers.factory import create_app

    app: Any = create_app(settings)
    ledger = Ledger(redis.Redis.from_url(settings.redis_url))
    batch, url = unique_batch("hostile"), source_url(stack, tmp_path)
    jobs = {name: make_job(settings, batch, name.value, name, url) for name in ProviderName}

    ended = {job.provider: job for job in run_to_end(ledger, app, list(jobs.values()), 90)}

    internal_host = f"127.0.0.1:{internal.server.server_port}"
    proxy_host = f"127.0.0.1:{proxy.server.server_port}"
    expected = {
        ProviderName.RUNWAY: f"{internal_host}: plain http:// is refused",
        ProviderName.SEGMIND: f"{internal_host}: plain http:// is refused",
        ProviderName.CRUN: f"{internal_host} resolves to a non-public address",
        ProviderName.AIMLAPI: f"{proxy_host}: the output is not a video",
    }
    for provider, reason in expected.items():
        job = ended[provider]
        assert (job.state, job.failure_kind) == (JobState.FAILED, FailureKind.UNSAFE_OUTPUT), job
        assert reason in (job.failure_message or ""), job.failure_message
        assert job.output is None
    assert internal.hits == []  # refused before connecting, every time

    failed = ended[ProviderName.VIBEDREAM]
    assert failed.state is JobState.FAILED and failed.failure_message is not None
    assert FRAGMENT not in failed.failure_message and "[key:" in failed.failure_message

    shown = subprocess.run([sys.executable, "-m", "cli", "job", failed.id],
                           env=base_env({**env, "COLUMNS": "400"}), capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J [/x] [bold]boom[/]" in shown.stdout
    assert FRAGMENT not in shown.stdout
