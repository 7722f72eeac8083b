"""Renders off the event loop: a small process pool, a cache by (input, prompt, ratio), and one
render per identical request in flight, so 500 jobs on the same clip cost one encode."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from config.catalogue import GEN4_ALEPH, EditWindow
from emulator.drift import NEUTRAL, Look
from emulator.render import RenderError, render_edit

CACHE_ENTRIES = 256
RenderKey = tuple[str, str, tuple[int, int] | None, EditWindow, str | None, Look]


def _warm() -> bool:
    return True


class RenderPool:
    """`render` returns the edited MP4 bytes or raises `RenderError`."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._cache: OrderedDict[RenderKey, bytes] = OrderedDict()
        self._pending: dict[RenderKey, asyncio.Future[bytes]] = {}
        self.renders = 0

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self._workers, mp_context=context)
        return self._executor

    async def warm(self) -> None:
        """Start the worker processes now rather than on the first job."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool(), _warm) for _ in range(self._workers))
        )

    async def render(
        self,
        source: bytes,
        prompt: str,
        ratio: tuple[int, int] | None,
        window: EditWindow = GEN4_ALEPH,
        defect: str | None = None,
        look: Look = NEUTRAL,
    ) -> bytes:
        """The edit of ``source`` by ``window``'s model with ``look``, from the cache, in flight,
        or new; ``defect`` spoils it (`emulator.defects`)."""
        key = (hashlib.sha256(source).hexdigest(), prompt, ratio, window, defect, look)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await self._render(key, source)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved: there may be no other waiter
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(result)
        self._remember(key, result)
        return result

    async def _render(self, key: RenderKey, source: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        self.renders += 1
        _, prompt, ratio, window, defect, look = key
        try:
            return await loop.run_in_executor(
                self._pool(), render_edit, source, prompt, ratio, window, defect, look
            )
        except BrokenProcessPool:
            self._executor = None
            raise RenderError("the renderer crashed on this input") from None

    def _remember(self, key: RenderKey, result: bytes) -> None:
        self._cache[key] = result
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def clear(self) -> None:
        """Drop the cache (renders in flight finish normally)."""
        self._cache.clear()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
