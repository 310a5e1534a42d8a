"""Per-channel pacing and retries with backoff, with a clock and sleep the test controls."""

import asyncio

import pytest

from adapters.pacing import ChannelPacer, retrying


class Time:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_burst_then_the_steady_pace_per_channel() -> None:
    t = Time()
    pacer = ChannelPacer(per_second=1.0, burst=3, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await pacer.wait("C1")
    assert t.slept == pytest.approx([1.0, 1.0])
    await pacer.wait("C2")  # another channel has its own bucket
    assert len(t.slept) == 2


async def test_concurrent_senders_on_one_channel_queue_up() -> None:
    t = Time()
    pacer = ChannelPacer(per_second=2.0, burst=1, clock=t.clock, sleep=t.sleep)
    await asyncio.gather(*(pacer.wait("C1") for _ in range(3)))
    assert t.slept == pytest.approx([0.5, 0.5])


class Flaky(Exception):
    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after


async def test_retries_honour_retry_after_then_succeed() -> None:
    t = Time()
    failures = [Flaky(2.0), Flaky(0.0)]

    async def call() -> str:
        if failures:
            raise failures.pop(0)
        return "sent"

    def wait_of(err: BaseException) -> float | None:
        return err.retry_after if isinstance(err, Flaky) else None

    assert await retrying(call, wait_of, sleep=t.sleep, base=0.5) == "sent"
    assert t.slept == [2.0, 1.0]  # the server's wait, then the backoff's second step


async def test_errors_not_worth_retrying_and_exhausted_attempts_raise() -> None:
    t = Time()

    async def refused() -> str:
        raise Flaky(None)

    async def always_limited() -> str:
        raise Flaky(0.1)

    def wait_of(err: BaseException) -> float | None:
        return err.retry_after if isinstance(err, Flaky) else None

    with pytest.raises(Flaky):
        await retrying(refused, wait_of, sleep=t.sleep)
    assert t.slept == []
    with pytest.raises(Flaky):
        await retrying(always_limited, wait_of, attempts=3, sleep=t.sleep)
    assert t.slept == [0.1, 0.1]
