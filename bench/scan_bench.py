"""Benchmark of whole-table scans (issue 10, hole 4): ``audit export`` and ``audit verify`` on a
large audit log, through the chat path, while ``/healthz`` is polled.

Seeds N valid chained audit rows (default 300,000) into a fresh SQLite file, starts the app, then
for each command: the peak RSS growth during it (sampled every 20 ms), its duration, and how late
``/healthz`` answered meanwhile (max and p99; polled every 20 ms through the real HTTP app).

Prints one line per command: ``scan COMMAND N SECONDS RSS_GROWTH_MB HEALTHZ_MAX_MS HEALTHZ_P99_MS``.
Run: ``.venv/bin/python -m bench.scan_bench [N]`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from bot.actions import Action, Send, Upload
from bot.events import Message, Place, Sender
from dihya.app import App, build_app, settle_heap
from dihya.http import build_http
from dihya.settings import load_settings
from tests.helpers.audit_rows import seed_audit

PAUSE = 0.02


class Sink:
    """A platform that keeps only what the benchmark checks: the replies' text and upload sizes."""

    platform = "console"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.uploaded = 0

    async def perform(self, action: Action, target: str | None) -> str | None:  # noqa: ARG002
        if isinstance(action, Send):
            self.texts.append(action.text)
        elif isinstance(action, Upload):
            self.uploaded += action.content.stat().st_size if isinstance(action.content, Path) else len(action.content)
        return None


class PeakRss:
    def __init__(self) -> None:
        self._process = psutil.Process()
        self.base = self._process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(PAUSE):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return (self.peak - self.base) / 1e6


async def poll(app: App, stop: asyncio.Event) -> list[float]:
    late: list[float] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_http(app)), base_url="http://b") as client:
        due = time.perf_counter()
        while True:
            assert (await client.get("/healthz")).status_code == 200
            answered = time.perf_counter()
            late.append(answered - due)
            if stop.is_set():
                return sorted(late)
            await asyncio.sleep(PAUSE)
            due = answered + PAUSE


async def scan(app: App, sink: Sink, command: str, rows: int) -> None:
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(app, stop))
    await asyncio.sleep(0.2)
    rss = PeakRss()
    started = time.perf_counter()
    event = Message(f"b-{command}", Sender("console", "admin1", "admin1"), Place("console", "main"), "b1", command)
    await app.runtime.dispatch(event)
    await app.runtime.idle()
    took = time.perf_counter() - started
    growth = rss.stop()
    stop.set()
    late = await polling
    print(f"scan {command.replace(' ', '-')} {rows} {took:.1f} {growth:.1f} {late[-1] * 1000:.0f} "
          f"{late[int(len(late) * 0.99)] * 1000:.0f}", flush=True)


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(data_dir=Path(folder), admins=("console:admin1",), rate_limit_per_minute=0)
        app = build_app(settings)
        sink = Sink()
        app.runtime.attach(sink)
        await app.start()
        try:
            for warm_up in ("audit verify", "audit export csv"):  # load what the first scans load
                await app.runtime.dispatch(Message(f"w-{warm_up}", Sender("console", "admin1", "admin1"),
                                                   Place("console", "main"), "w", warm_up))
            await app.runtime.idle()
            seed_audit(app.engine, rows)
            settle_heap()
            await scan(app, sink, "audit verify", rows)
            await scan(app, sink, "audit export csv", rows)
            assert any("intact" in t for t in sink.texts), sink.texts
            assert sink.uploaded > rows * 100, sink.uploaded
        finally:
            await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=300_000)
    asyncio.run(main(parser.parse_args().rows))
