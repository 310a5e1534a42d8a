"""Dispatch benchmark (issue 16): approval vote → job running on a Celery worker, and worker
progress → status edit, on the real Redis with a real ``dihya worker`` subprocess.

Each round: ``dev1`` asks for a production deploy of ``web`` (the shipped demo playbook, four
Ansible tasks on the local machine); ``devops1`` votes ✅ at time *t*. **vote → running** is the
worker's claim time of the job (``started_us``, written by the worker) minus *t*. **progress →
edit**: every time the bot's chat receives an edit of the job's status message while the job runs,
the time since the worker last wrote the row (its ``heartbeat_us``: the claim or the last
progress step); an edit showing a row already timed (the watcher's periodic refresh of the elapsed
time) is not counted. The bot's one-edit-per-second coalescing is turned off here (the issue's target
excludes it); everything else is ``dihya``'s own code path: the approval, the Celery enqueue, the
worker's claim, its Redis nudges, the watcher's edit.

Prints JSON lines: ``dispatch.vote_to_running`` and ``dispatch.progress_to_edit`` (p50/p99 ms).
Run: ``.venv/bin/python -m bench.dispatch_bench [ROUNDS]`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bench.figures import ROOT, Figure, emit
from bench.harness import DIHYA, percentile
from bot.actions import Action, Edit, Send
from bot.events import Message, Place, Reaction, Sender
from bot.jobs import KEY_PREFIX
from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.jobs.helpers import content_copy

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own (tests use 9 to 13), flushed before and after
ROUND_TIMEOUT_S = 120.0


class Chat:
    """The bench's chat: keeps message ids by key, and times every edit of a running job's status."""

    platform = "console"

    def __init__(self, app: App) -> None:
        self.app = app
        self.by_key: dict[str, str] = {}
        self.edit_delays_ms: list[float] = []
        self._answered: dict[int, int] = {}  # job id -> the row write (heartbeat_us) last timed
        self._ids = itertools.count(1)

    async def perform(self, action: Action, target: str | None) -> str | None:  # noqa: ARG002
        if isinstance(action, Send):
            message_id = f"m{next(self._ids)}"
            if action.key:
                self.by_key[action.key] = message_id
            return message_id
        if isinstance(action, Edit) and action.key.startswith(KEY_PREFIX):
            now_us = time.time() * 1e6
            job = self.app.store.job(int(action.key.removeprefix(KEY_PREFIX)))
            if job is not None and job.state == "running" and job.heartbeat_us is not None \
                    and self._answered.get(job.id) != job.heartbeat_us:  # not a re-render of the same row
                self._answered[job.id] = job.heartbeat_us
                self.edit_delays_ms.append((now_us - job.heartbeat_us) / 1000)
        return None


async def one_round(app: App, chat: Chat, i: int) -> float:
    """One approved deploy; returns vote → running (ms)."""
    place = Place("console", "main")
    ask = Message(f"ask-{i}", Sender("console", "dev1"), place, f"ask-{i}", f"deploy web to production version v{i}")
    await app.runtime.dispatch(ask)
    await app.runtime.idle()
    approval = next(key for key in reversed(list(chat.by_key)) if key.startswith("approval:"))
    voted = time.time()
    vote = Reaction(f"vote-{i}", Sender("console", "devops1"), place, chat.by_key[approval], "✅", True)
    await app.runtime.dispatch(vote)
    job_id = i + 1
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    while (job := app.store.job(job_id)) is None or not job.finished:
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not finish: {job}")
        await asyncio.sleep(0.02)
    if job.state != "succeeded" or job.started_us is None:
        raise RuntimeError(f"job {job_id} ended {job.state}: {job.result}")
    await asyncio.sleep(0.1)  # the last nudges
    await app.watcher.idle()
    return (job.started_us / 1e6 - voted) * 1000


async def measure(rounds: int, data_dir: Path, warmup: bool = True) -> list[Figure]:
    settings = load_settings(
        data_dir=data_dir, content_dir=content_copy(data_dir), jobs="celery", redis_url=REDIS_URL,
        admins=("console:admin1",), rate_limit_per_minute=0)
    app = build_app(settings)
    app.watcher._interval = 0.0  # no edit coalescing: the target excludes it
    await app.start()
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    chat = Chat(app)
    app.runtime.attach(chat)
    worker = start_worker(settings.sqlalchemy_url, data_dir)
    try:
        if warmup:
            await one_round(app, chat, 0)  # the worker's first task imports and connects
            chat.edit_delays_ms.clear()
        first = 1 if warmup else 0
        to_running = [await one_round(app, chat, i) for i in range(first, first + rounds)]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        await app.stop()
    targets = {"p50_ms": "≤ 20", "p99_ms": "≤ 100"}
    return [emit(Figure("dispatch.vote_to_running", summary(to_running, rounds), targets)),
            emit(Figure("dispatch.progress_to_edit", summary(chat.edit_delays_ms, rounds), targets))]


def summary(latencies: list[float], rounds: int) -> dict[str, float | int | str]:
    ordered = sorted(latencies)
    return {"rounds": rounds, "samples": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(percentile(ordered, 0.99), 2), "max_ms": round(ordered[-1], 2)}


def start_worker(database: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIHYA_DATABASE_URL": database, "DIHYA_DATA_DIR": str(data_dir),
           "DIHYA_CONTENT_DIR": str(data_dir / "content"), "DIHYA_JOBS": "celery", "DIHYA_REDIS_URL": REDIS_URL}
    with (data_dir / "worker.log").open("wb") as log:
        return subprocess.Popen([DIHYA, "worker", "--concurrency", "2"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("rounds", type=int, nargs="?", default=30)
    parser.add_argument("--no-warmup", action="store_true", help="measure the first round too (--quick)")
    args = parser.parse_args()
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    try:
        with tempfile.TemporaryDirectory(prefix="dihya-bench-dispatch-") as tmp:
            asyncio.run(measure(args.rounds, Path(tmp), warmup=not args.no_warmup))
    finally:
        queue.flushdb()


if __name__ == "__main__":
    main()
