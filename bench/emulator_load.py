"""Emulator load: 500 live remote jobs across the five providers, then as many polls as the
emulator answers, then polls paced at 300 requests/s; the same client against a trivial
Starlette endpoint on this machine is the baseline. Prints one JSON line.

    python -m bench.emulator_load [--jobs 500] [--seconds 8] [--target-rps 300]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.settings import ProviderName
from devstack.process import Service, base_env, free_port, wait_for
from devstack.stack import Stack, dev_key
from media.samples import make_clip_bytes

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
CONCURRENCY = 32


@dataclass
class Sample:
    """Latencies (seconds) and failures of one run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {
            "requests": len(self.latencies),
            "rps": round(len(self.latencies) / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
            "errors": self.errors,
        }


async def _timed(client: httpx.AsyncClient, call: Call, sample: Sample) -> None:
    start = time.perf_counter()
    try:
        response = await call(client)
        ok = response.status_code < 500
    except httpx.HTTPError:
        ok = False
    sample.latencies.append(time.perf_counter() - start)
    sample.errors += 0 if ok else 1


async def saturate(calls: list[Call], seconds: float) -> Sample:
    """Closed loop: CONCURRENCY workers cycling through ``calls`` for ``seconds``."""
    sample = Sample()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            index = offset
            while time.perf_counter() < deadline:
                await _timed(client, calls[index % len(calls)], sample)
                index += CONCURRENCY

        start = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        sample.elapsed = time.perf_counter() - start
    return sample


async def paced(calls: list[Call], seconds: float, rate: float) -> Sample:
    """Open loop: one request every 1/``rate`` seconds, whatever the answers take."""
    sample = Sample()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        tasks = []
        start = time.perf_counter()
        for index in range(int(seconds * rate)):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            call = calls[index % len(calls)]
            tasks.append(asyncio.create_task(_timed(client, call, sample)))
        await asyncio.gather(*tasks)
        sample.elapsed = time.perf_counter() - start
    return sample


def _submissions(
    base: str, video: str
) -> dict[ProviderName, tuple[str, dict[str, object], dict[str, str]]]:
    bearer = {name: {"Authorization": f"Bearer {dev_key(name)}"} for name in ProviderName}
    return {
        ProviderName.RUNWAY: (
            f"{base}/runway/v1/video_to_video",
            {"model": "aleph2", "videoUri": video, "promptText": "load"},
            {**bearer[ProviderName.RUNWAY], "X-Runway-Version": "2024-11-06"},
        ),
        ProviderName.SEGMIND: (
            f"{base}/segmind/v2/runway-gen4-aleph",
            {"video": video, "prompt": "load"},
            {"x-api-key": dev_key(ProviderName.SEGMIND)},
        ),
        ProviderName.AIMLAPI: (
            f"{base}/aimlapi/v2/video/generations",
            {"model": "runway/gen4_aleph", "video_url": video, "prompt": "load"},
            bearer[ProviderName.AIMLAPI],
        ),
        ProviderName.VIBEDREAM: (
            f"{base}/vibedream/api/v1/models/gen4-aleph/generate",
            {"video": video, "prompt": "load"},
            bearer[ProviderName.VIBEDREAM],
        ),
        ProviderName.CRUN: (
            f"{base}/crun/api/v1/client/job/CreateTask",
            {"model": "runway/gen-4-aleph", "input": {"video_url": video, "prompt": "load"}},
            {"x-api-key": dev_key(ProviderName.CRUN)},
        ),
    }


def _poll_call(base: str, provider: ProviderName, remote_id: str, headers: dict[str, str]) -> Call:
    paths = {
        ProviderName.RUNWAY: f"/runway/v1/tasks/{remote_id}",
        ProviderName.SEGMIND: f"/segmind/v2/requests/{remote_id}/status",
        ProviderName.AIMLAPI: f"/aimlapi/v2/video/generations?generation_id={remote_id}",
        ProviderName.VIBEDREAM: f"/vibedream/api/v1/predictions/{remote_id}",
        ProviderName.CRUN: f"/crun/api/v1/client/job/TaskInfo?task_id={remote_id}",
    }
    url = base + paths[provider]
    return lambda client: client.get(url, headers=headers)


def _remote_id(provider: ProviderName, body: dict[str, object]) -> str:
    if provider is ProviderName.SEGMIND:
        return str(body["request_id"])
    if provider is ProviderName.CRUN:
        data = body["data"]
        assert isinstance(data, dict)
        return str(data["task_id"])
    return str(body["id"])


async def submit_jobs(base: str, jobs: int) -> tuple[list[Call], Sample]:
    """Create ``jobs`` remote jobs round-robin over the providers; the poll calls for them."""
    video = "data:video/mp4;base64," + base64.b64encode(make_clip_bytes(seconds=1)).decode()
    plans = _submissions(base, video)
    providers = list(ProviderName)
    polls: list[Call] = []
    sample = Sample()
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.perf_counter()
        for index in range(jobs):
            provider = providers[index % len(providers)]
            url, body, headers = plans[provider]
            began = time.perf_counter()
            response = await client.post(url, json=body, headers=headers)
            sample.latencies.append(time.perf_counter() - began)
            response.raise_for_status()
            polls.append(_poll_call(base, provider, _remote_id(provider, response.json()), headers))
        sample.elapsed = time.perf_counter() - start
    return polls, sample


def _live_jobs(base: str) -> int:
    states = httpx.get(f"{base}/_emulator/stats").json()["jobs_by_state"]
    live = ("throttled", "queued", "running")
    return sum(count for per in states.values() for state, count in per.items() if state in live)


def start_baseline(workdir: Path) -> Service:
    """A trivial Starlette app under uvicorn, started the way the emulator is."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.emulator_load", "--baseline-server", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    service = Service("baseline", url, port, argv, base_env(), workdir / "baseline.log").start()
    wait_for(lambda: httpx.get(f"{url}/ping").status_code == 200, 30, "the baseline server")
    return service


def serve_baseline(port: int) -> None:
    """Serve ``GET /ping`` -> a small JSON object."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"id": "11111111-2222-3333-4444-555555555555", "status": "RUNNING"})

    app = Starlette(routes=[Route("/ping", ping)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def measure(base: str, baseline: str, args: argparse.Namespace) -> dict[str, object]:
    polls, submits = await submit_jobs(base, args.jobs)
    live = _live_jobs(base)
    emulator = await saturate(polls, args.seconds)
    at_target = await paced(polls, args.seconds / 2, args.target_rps)
    live_after = _live_jobs(base)
    ping: list[Call] = [lambda client: client.get(f"{baseline}/ping")]
    reference = await saturate(ping, args.seconds)
    result = emulator.summary()
    target = at_target.summary()
    return {
        "bench": "emulator_load",
        "jobs": args.jobs,
        "live_jobs": live,
        "live_jobs_after": live_after,
        "submit_rps": submits.summary()["rps"],
        "rps": result["rps"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "errors": result["errors"] + target["errors"],
        "target_rps": args.target_rps,
        "achieved_rps_at_target": target["rps"],
        "p99_ms_at_target": target["p99_ms"],
        "baseline_rps": reference.summary()["rps"],
        "baseline_p99_ms": reference.summary()["p99_ms"],
        "ratio": round(result["rps"] / reference.summary()["rps"], 3),
    }


def main() -> None:
    """Run the benchmark (or, with --baseline-server, serve the baseline)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--target-rps", type=float, default=300.0)
    parser.add_argument("--baseline-server", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.baseline_server:
        serve_baseline(args.port)
        return
    workdir = Path(tempfile.mkdtemp(prefix="restyle-bench-"))
    with Stack(workdir) as stack:
        emulator = stack.start_emulator("--preset", "calm", "--processing-time", "120")
        baseline = start_baseline(workdir)
        try:
            figures = asyncio.run(measure(emulator.url, baseline.url, args))
        finally:
            baseline.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
