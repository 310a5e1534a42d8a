"""A ``dihya worker`` subprocess for the fault tests: started with the test's settings as
environment variables, logging to a file the test can read, killed with SIGKILL (its whole process
group: the ansible-playbook it runs dies with it)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 2) -> None:
        self.env = {**env, "DIHYA_LOG_FILE": str(log)}
        self.log = log
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        dihya = Path(sys.executable).with_name("dihya")
        self.process = subprocess.Popen([str(dihya), "worker", "--concurrency", str(self.concurrency)],
                                        env={**os.environ, **self.env}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def logged(self, needle: str) -> int:
        return self.log.read_text(errors="replace").count(needle) if self.log.exists() else 0

    async def wait_logged(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.logged(needle):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{needle!r} never logged in {self.log}")
