"""The adapters' shared toolkit: capped LRU memory, doubling backoff, the redacting log filter,
dispatch of an action by its type, and the per-channel pacer's bound."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.pacing import ChannelPacer, retrying
from adapters.toolkit.backoff import doubling
from adapters.toolkit.dispatch import perform_by_type
from adapters.toolkit.logfilter import RedactingFilter, debug_dump
from adapters.toolkit.lru import CappedLru
from bot.actions import Action, Edit, React, Retract, Send, Upload
from bot.approvals import vote_of
from bot.emoji import bare
from dihya.redaction import MASK, Redactor
from tests.adapters.test_pacing import Time

TOKEN = "syt_ZGloeWE_abcdefghijklmnop_0a1b2c"


# -- capped LRU ----------------------------------------------------------------------------------
def test_the_least_recently_used_entry_goes_first_and_is_reported() -> None:
    lru: CappedLru[str, int] = CappedLru(2, [("a", 1), ("b", 2), ("c", 3)])
    assert list(lru) == ["b", "c"]  # the oldest of the initial items went at once
    assert lru.get("b") == 2  # reading makes it recent ...
    assert lru.put("d", 4) == ["c"]  # ... so "c" is the one pushed out, and the caller is told
    assert list(lru) == ["b", "d"] and "c" not in lru and len(lru) == 2
    assert lru.pop("b") == 2 and lru.pop("b") is None
    assert lru.get("missing", 7) == 7
    assert lru.put("d", 5) == [] and lru.get("d") == 5  # replacing is not growing
    lru.clear()
    assert len(lru) == 0


def test_a_memory_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        CappedLru(0)


# -- backoff ---------------------------------------------------------------------------------------
def test_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    assert [doubling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [doubling(n, 0.5, 30) for n in range(1, 4)] == [0.5, 1.0, 2.0]
    assert doubling(0) == 1 and doubling(10**9) == 60  # no overflow however long it fails


async def test_retries_are_announced_with_their_wait() -> None:
    t, heard, calls = Time(), [], []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "up"

    got = await retrying(flaky, lambda _err: 0.0, base=0.5, sleep=t.sleep,
                         on_retry=lambda err, wait: heard.append((str(err), wait)))
    assert got == "up"
    assert heard == [("down", 0.5), ("down", 1.0)] and t.slept == [0.5, 1.0]


# -- pacer bound -------------------------------------------------------------------------------------
async def test_the_pacer_forgets_the_least_recent_channels_beyond_its_bound() -> None:
    t = Time()
    pacer = ChannelPacer(per_second=1.0, burst=1, clock=t.clock, sleep=t.sleep, channels=2)
    await pacer.wait("A")
    await pacer.wait("B")
    await pacer.wait("C")  # "A" forgotten: it starts with a full bucket again
    await pacer.wait("A")
    assert t.slept == []
    await pacer.wait("A")  # a remembered channel is paced
    assert t.slept == pytest.approx([1.0])


# -- log filter ----------------------------------------------------------------------------------------
class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def library_log() -> tuple[logging.Logger, Collect]:
    logger = logging.getLogger("tests.toolkit.library")
    logger.setLevel(logging.DEBUG)
    handler = Collect()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def test_the_log_filter_masks_secrets_in_messages_and_tracebacks_and_drops_dumps(
        library_log: tuple[logging.Logger, Collect]) -> None:
    logger, handler = library_log
    redactor = Redactor(["hunter2-password"])
    log_filter = RedactingFilter(redactor, debug_dump(["tests.toolkit.library"]))
    log_filter.install([logger.name])
    redactor.add("late-secret-value")  # a session token learnt after installing
    try:
        logger.debug("response %s", {"access_token": TOKEN})  # a dump: dropped whole
        logger.info("login with %s then %s", "hunter2-password", "late-secret-value")
        try:
            raise RuntimeError(f"refused {TOKEN}")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        log_filter.remove()
    text = "\n".join(handler.lines)
    assert "response" not in text
    assert f"login with {MASK} then {MASK}" in text
    assert "call failed" in text and "RuntimeError: refused" in text
    assert TOKEN not in text and "hunter2" not in text and "late-secret" not in text
    logger.info("after removal: %s", "late-secret-value")
    assert "late-secret-value" in handler.lines[-1]


def test_a_filter_for_the_same_key_is_installed_once() -> None:
    logger = logging.getLogger("tests.toolkit.once")
    first = RedactingFilter(Redactor(), key=("platform", ("s3cret",)))
    second = RedactingFilter(Redactor(), key=("platform", ("s3cret",)))
    other = RedactingFilter(Redactor())
    try:
        for each in (first, second, other):
            each.install([logger.name])
        assert logger.filters == [first, other]
    finally:
        first.remove()
        other.remove()
    assert logger.filters == []


def test_payload_dumps_are_picked_by_their_format_at_debug_only() -> None:
    drop = debug_dump(messages=["Processing update %s"])
    record = logging.LogRecord("telegram.ext", logging.DEBUG, __file__, 1, "Processing update %s", ("{}",), None)
    assert drop(record)
    record.levelno = logging.INFO
    assert not drop(record)


# -- dispatch by type ---------------------------------------------------------------------------------
class Outbox:
    """An ``Outbound`` that records which method each action reached."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Action, str | None]] = []

    async def send(self, action: Send) -> str | None:
        self.calls.append(("send", action, None))
        return "m1"

    async def edit(self, action: Edit, target: str | None) -> None:
        self.calls.append(("edit", action, target))

    async def react(self, action: React) -> None:
        self.calls.append(("react", action, None))

    async def upload(self, action: Upload) -> str | None:
        self.calls.append(("upload", action, None))
        return "f1"

    async def retract(self, action: Retract) -> str | None:
        self.calls.append(("retract", action, None))
        return action.message_id


async def test_each_action_reaches_the_method_for_its_type() -> None:
    outbox = Outbox()
    actions: list[Action] = [Send("C", "hi"), Edit("C", "k", "hi again"), React("C", "m1", "👀"),
                             Upload("C", "a.csv", Path("/tmp/a.csv"), "A"), Retract("C", "u7", "gone", "kept")]
    results = [await perform_by_type(outbox, action, "m1") for action in actions]
    assert [name for name, _, _ in outbox.calls] == ["send", "edit", "react", "upload", "retract"]
    assert [a for _, a, _ in outbox.calls] == actions
    assert outbox.calls[1][2] == "m1"  # only an edit is given the target it replaces
    assert results == ["m1", None, None, "f1", "u7"]


# -- emoji ---------------------------------------------------------------------------------------------
def test_one_spelling_per_emoji() -> None:
    assert bare("✅\ufe0f") == "✅" and bare("👍") == "👍"
    assert vote_of("✔\ufe0f") is True and vote_of("✖\ufe0f") is False
