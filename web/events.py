"""Server-sent events: the batches table, rendered again and sent whenever it changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from web import pages
from web.views import service

INTERVAL_S = 1.0
KEEPALIVE_S = 15.0


async def batches_events(request: Request) -> StreamingResponse:
    """The batches table, sent again whenever it changes."""
    svc = service(request)

    async def stream() -> AsyncIterator[str]:
        last, quiet = "", 0.0
        while not await request.is_disconnected():
            summaries = await run_in_threadpool(svc.summaries.all)
            html = pages.batches_table(summaries)
            if html != last:
                last, quiet = html, 0.0
                yield f"data: {json.dumps({'html': html})}\n\n"
            elif quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(INTERVAL_S)
            quiet += INTERVAL_S

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
