"""The sandbox with real interpreters: each limit ends the run with its reason and leaves no process of
its group behind. Limits are small (CPU 2 s, timeout 3 s) so the whole file runs in seconds, and the
fork bomb is capped by a process count the machine barely notices."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.scripts import Limits
from dihya.scripts.runner import interpreters
from dihya.scripts.sandbox import SandboxOutcome, SandboxSpec, SandboxUser, _group_members, run_sandboxed

TIGHT = Limits(cpu_seconds=2, memory_mb=256, file_mb=4, processes=16, output_bytes=1_000_000)
BASH = shutil.which("bash") or "/bin/bash"
PYTHON = interpreters()["python"][0]  # what scripts run with: a path the sandbox user may read
USER = SandboxUser.named("nobody") if os.getuid() == 0 else None


@pytest.fixture
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="dihya-test-"))
    if USER is not None:
        os.chown(folder, USER.uid, USER.gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run(workdir: Path, *argv: str, timeout: float = 3, limits: Limits = TIGHT,
        env: dict[str, str] | None = None, cancel_after: float | None = None) -> tuple[SandboxOutcome, float]:
    started = time.monotonic()
    seen: list[list[str]] = []
    cancelled = (lambda: time.monotonic() - started > cancel_after) if cancel_after else (lambda: False)
    env = env or {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    spec = SandboxSpec(argv, env, workdir, limits, timeout, USER, kill_grace_s=0.5)
    outcome = run_sandboxed(spec, cancelled, seen.append)
    return outcome, time.monotonic() - started


def assert_nothing_left(outcome: SandboxOutcome) -> None:
    assert outcome.leftovers == 0


def test_a_clean_environment_a_fresh_directory_and_no_stdin(workdir: Path) -> None:
    outcome, _ = run(workdir, BASH, "-c", 'echo "env=$(env | sort | tr "\\n" " ")"; pwd; id -un; read -r x || echo eof',
                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "GREETING": "hi"})
    env_line, cwd, user, stdin = outcome.tail
    assert env_line.split("=", 1)[1].split() == ["GREETING=hi", "LANG=C.UTF-8", "PATH=/usr/bin:/bin",
                                                 "PWD=" + str(workdir), "SHLVL=1", "_=/usr/bin/env"]
    assert cwd == str(workdir) and stdin == "eof"
    assert user == ("nobody" if USER else os.environ.get("USER", user))
    assert outcome.ended == "exited" and outcome.returncode == 0


def test_allocating_2_gb_fails_within_the_memory_limit(workdir: Path) -> None:
    outcome, took = run(workdir, PYTHON, "-c", "x = bytearray(2 * 1024 ** 3)")
    assert outcome.returncode == 1 and "MemoryError" in outcome.tail[-1]
    assert took < 3
    assert_nothing_left(outcome)


def test_a_fork_bomb_is_capped_and_ended_with_its_group(workdir: Path) -> None:
    outcome, took = run(workdir, BASH, "-c", "bomb() { bomb | bomb & }; bomb; sleep 2; wait")
    assert outcome.ended in ("stragglers", "timeout")
    assert took < 6
    assert_nothing_left(outcome)
    assert any("fork" in line or "Resource temporarily unavailable" in line for line in outcome.tail)


def test_an_endless_output_is_cut_and_killed(workdir: Path) -> None:
    outcome, took = run(workdir, BASH, "-c", "yes 'a line that never ends'")
    assert outcome.ended == "output_limit" and outcome.returncode == -9
    assert outcome.output_bytes > TIGHT.output_bytes and took < 3
    assert len(outcome.log) <= 128 * 1024 + 100 and "bytes of output not kept" in outcome.log
    assert_nothing_left(outcome)


def test_a_script_ignoring_sigterm_is_killed_after_the_grace(workdir: Path) -> None:
    outcome, took = run(workdir, BASH, "-c", "trap '' TERM; echo waiting; sleep 100 & wait; sleep 100", timeout=1)
    assert outcome.ended == "timeout" and outcome.returncode == -9
    assert 1 <= took < 3
    assert outcome.tail == ["waiting"]
    assert_nothing_left(outcome)


def test_cpu_time_is_limited(workdir: Path) -> None:
    outcome, _ = run(workdir, PYTHON, "-c", "while True: pass", timeout=20)
    assert outcome.returncode in (-24, -9)  # SIGXCPU at the soft limit, SIGKILL at the hard one
    assert_nothing_left(outcome)


def test_file_size_is_limited(workdir: Path) -> None:
    outcome, _ = run(workdir, BASH, "-c", "head -c 50000000 /dev/zero > big")
    assert outcome.returncode != 0 and "File too large" in outcome.tail[-1]
    assert (workdir / "big").stat().st_size <= TIGHT.file_mb * 1024 * 1024


def test_background_children_are_ended_with_the_script(workdir: Path) -> None:
    outcome, took = run(workdir, BASH, "-c", "sleep 100 & echo started")
    assert outcome.ended == "stragglers" and took < 2
    assert_nothing_left(outcome)


def test_a_cancel_ends_the_group(workdir: Path) -> None:
    outcome, took = run(workdir, BASH, "-c", "sleep 100", timeout=30, cancel_after=0.3)
    assert outcome.ended == "cancelled" and took < 2
    assert_nothing_left(outcome)


def test_a_script_that_closes_its_output_is_not_cut_short(workdir: Path) -> None:
    outcome, _ = run(workdir, BASH, "-c", "exec >&-; sleep 0.5; touch finished")
    assert outcome.ended == "exited" and outcome.returncode == 0 and (workdir / "finished").exists()


@pytest.mark.skipif(USER is None, reason="only root switches to the sandbox user")
def test_scripts_do_not_run_as_root(workdir: Path) -> None:
    outcome, _ = run(workdir, PYTHON, "-c", "import os; print(os.getuid(), os.getgroups())")
    assert outcome.tail == [f"{USER.uid} []"]


def test_group_members_finds_live_processes_only() -> None:
    assert _group_members(os.getpgid(0))  # this test process's own group
    assert _group_members(2**22 + 12345) == []
