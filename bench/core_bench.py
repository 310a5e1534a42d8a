"""Benchmark of the core: the workload used to measure other Python chat-bot frameworks.

Message i is ``status srv-%06d`` from ``allowed-user``, except every 10th (i % 10 == 9) from
``denied-user``, who may not run it. ``status`` is declared through the same registry API as every
command; its handler looks the server up in an inventory of srv-000000…srv-000999. Each message
goes through the whole core (dedupe, identity, parse, RBAC, handler, audit, reply action) and the
runtime (group-committed audit on the embedded SQLite store, redaction, delivery).

Prints one line per N: ``dihya VERSION N COMMANDS_PER_S P50_MS P99_MS PEAK_RSS_MB``.
Run: ``.venv/bin/python -m bench.core_bench`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine

from bench.figures import Figure, emit
from bot import __version__
from bot.actions import Action, Send
from bot.argtypes import Name
from bot.context import Context
from bot.events import Message, Place, Sender
from bot.i18n import N_, Msg
from bot.registry import Arg, Command, Reply
from dihya.app import App, build_app, settle_heap
from dihya.settings import load_settings
from tests.helpers.databases import database as fresh_database

INVENTORY = frozenset(f"srv-{i:06d}" for i in range(1000))
WARMUP = 200
ALLOWED, DENIED = "allowed-user", "denied-user"


def status(ctx: Context, args: Mapping[str, object]) -> Reply:
    name = str(args["server"])
    state = "up" if name in INVENTORY else "unknown"
    return Reply((Msg(N_("{server}: {state}"), {"server": name, "state": state}),))


STATUS = Command(
    name="bench.status",
    phrases=dict.fromkeys(("en", "fr", "ar", "tzm"), ("status {server}",)),
    args=(Arg("server", Name(), N_("server name")),),
    permission="read",
    help=N_("Show whether a server is up."),
    handler=status,
    examples=("status srv-000042",),
)


class Replies:
    """The bench's chat platform: checks each reply as it arrives (each message once, in order)
    and keeps only how many arrived and when the last one did."""

    platform = "bench"

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.done = asyncio.Event()
        self.expected = 0
        self.run = ""

    def reset(self, run: str, expected: int) -> None:
        self.count, self.expected, self.run = 0, expected, run
        self.done.clear()

    async def perform(self, action: Action, target: str | None) -> str | None:  # noqa: ARG002
        assert isinstance(action, Send)
        run, _, index = (action.thread or "").rpartition("-")
        assert run == self.run, action.thread
        check(int(index), action.text)
        self.count += 1
        self.last = time.perf_counter()
        if self.count >= self.expected:
            self.done.set()
        return None


SENDERS = {ALLOWED: Sender("bench", ALLOWED), DENIED: Sender("bench", DENIED)}
CHANNEL = Place("bench", "c1")


def event(i: int, run: str) -> Message:
    sender = SENDERS[DENIED if i % 10 == 9 else ALLOWED]
    message_id = f"{run}-{i}"
    return Message(message_id, sender, CHANNEL, message_id, f"status srv-{i:06d}")


def check(i: int, text: str) -> None:
    if i % 10 == 9:
        assert text.startswith("You are not allowed"), text
    else:
        assert text == f"srv-{i:06d}: {'up' if i < 1000 else 'unknown'}", text


async def burst(app: App, replies: Replies, n: int, run: str) -> float:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    replies.reset(run, n)

    async def consume() -> None:
        for _ in range(n):
            await app.runtime.dispatch(await inbox.get())

    events = [event(i, run) for i in range(n)]  # the input exists before the clock starts
    worker = asyncio.create_task(consume())
    first_push = time.perf_counter()
    for message in events:
        inbox.put_nowait(message)
    await replies.done.wait()
    await worker
    assert replies.count == n
    return n / (replies.last - first_push)


async def serial(app: App, replies: Replies, n: int, run: str) -> list[float]:
    latencies = []
    replies.reset(run, 0)
    for i in range(n):
        replies.expected = i + 1
        replies.done.clear()
        start = time.perf_counter()
        await app.runtime.dispatch(event(i, run))
        await replies.done.wait()
        latencies.append((replies.last - start) * 1000)
    assert replies.count == n
    return latencies


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(sizes: list[int], data_dir: Path, engine: Engine | None = None) -> list[str]:
    """``engine``: the store's database (default: the embedded SQLite file in ``data_dir``)."""
    settings = load_settings(data_dir=data_dir, admins=(), rate_limit_per_minute=0)
    app = build_app(settings, commands=(STATUS,), engine=engine)
    await app.start()
    app.store.grant_role(f"bench:{ALLOWED}", "auditor")
    replies = Replies()
    app.runtime.attach(replies)
    settle_heap()  # as `dihya console` and `dihya serve` do once started
    lines = []
    app.bot.flush_audit()
    before = app.store.audit_head()
    rows_before = before.count if before else 0  # the app audits its own start (settings)
    try:
        await serial(app, replies, WARMUP, "warm")
        for n in sizes:
            rate = await burst(app, replies, n, f"b{n}")
            latencies = sorted(await serial(app, replies, n, f"s{n}"))
            p50 = statistics.median(latencies)
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            lines.append(f"dihya {__version__} {n} {rate:.0f} {p50:.3f} {p99:.3f} {peak_rss_mb():.1f}")
        app.bot.flush_audit()
        audited = app.store.audit_head()
        assert audited is not None
        assert audited.count - rows_before == WARMUP + 2 * sum(sizes), audited
    finally:
        await app.stop()
    return lines


def run(sizes: list[int], database: str = "sqlite") -> list[str]:
    """The lines for ``sizes`` on ``database``: ``sqlite`` (a fresh file) or ``postgresql`` (a fresh
    schema in the real server, dropped after)."""
    with tempfile.TemporaryDirectory(prefix="dihya-bench-") as tmp:
        if database == "sqlite":
            return asyncio.run(measure(sizes, Path(tmp)))
        with fresh_database(database, Path(tmp)) as engine:
            return asyncio.run(measure(sizes, Path(tmp), engine))


def core_figures(sizes: list[int], database: str) -> list[Figure]:
    figures = []
    for line in run(sizes, database):
        _, _, n, rate, p50, p99, rss = line.split()
        figures.append(emit(Figure(f"core.{database}", {"n": int(n), "commands_per_s": int(rate), "p50_ms": float(p50),
                                                        "p99_ms": float(p99), "peak_rss_mb": float(rss)},
                                   {"commands_per_s": "≥ 40000", "p50_ms": "≤ 0.05", "peak_rss_mb": "≤ 80"})))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("sizes", nargs="*", type=int, default=[2_000, 20_000])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="a JSON line per figure (as `python -m bench`)")
    args = parser.parse_args()
    if args.json:
        core_figures(args.sizes, args.database)
        return
    for line in run(args.sizes, args.database):
        print(line, flush=True)


if __name__ == "__main__":
    main()
