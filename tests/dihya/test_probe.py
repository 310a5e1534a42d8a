"""``Probe``: a blocking check off the event loop, one run at a time, each caller bounded in time."""

import asyncio
import threading

import pytest

from dihya.probe import Probe


async def test_callers_share_one_run_and_give_up_at_the_deadline() -> None:
    release, runs = threading.Event(), []

    def stuck() -> str:
        runs.append(threading.current_thread().name)
        release.wait(5)
        return "ok"

    probe = Probe(stuck, timeout=0.2)
    answers = await asyncio.gather(*(probe() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(a, TimeoutError) for a in answers)
    assert len(runs) == 1  # a stuck database holds one thread, not one per request
    assert threading.current_thread().name not in runs
    release.set()
    await asyncio.sleep(0.05)
    assert await probe() == "ok"
    assert len(runs) == 2  # a finished run is not reused: every answer is fresh


async def test_the_checks_own_error_reaches_the_caller() -> None:
    def broken() -> None:
        raise ConnectionError("database unreachable")

    with pytest.raises(ConnectionError):
        await Probe(broken, timeout=1)()


async def test_a_success_is_reused_while_fresh_and_a_failure_never_is() -> None:
    now, runs, healthy = [100.0], [], [True]

    def check() -> int:
        runs.append(now[0])
        if not healthy[0]:
            raise ConnectionError("database unreachable")
        return len(runs)

    probe = Probe(check, timeout=1, fresh=1.0, clock=lambda: now[0])
    assert [await probe(), await probe()] == [1, 1]  # the second caller costs no thread
    now[0] += 1.0
    assert await probe() == 2  # stale: checked again
    healthy[0] = False
    now[0] += 1.0
    for _ in range(2):  # a failure is not kept: every caller asks the database again
        with pytest.raises(ConnectionError):
            await probe()
    assert len(runs) == 4
