"""``dihya serve`` itself as a subprocess on a free loopback port, with a fresh data directory and the
embedded default (demo catalog, SQLite), and admin tokens from ``dihya token create``: the API as a
user or a tool such as schemathesis, Chromium or ansible-inventory meets it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers.ports import free_port

DIHYA = str(Path(sys.executable).with_name("dihya"))
ADMIN = "console:admin1"
READY_SECONDS = 60.0
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "TERM") if shutil.which("setpriv") else ()


@dataclass(frozen=True)
class Served:
    root: str  # http://127.0.0.1:PORT
    env: dict[str, str]
    data_dir: Path

    @property
    def api(self) -> str:
        return f"{self.root}/api/it_devops"

    def token(self, identity: str = ADMIN, *extra: str) -> str:
        """A token exactly as ``dihya token create --identity IDENTITY`` prints it on stdout."""
        done = subprocess.run([DIHYA, "token", "create", "--identity", identity, *extra], env=self.env, check=True,
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip()


def console(data_dir: Path, script: str) -> str:
    """``dihya console`` on ``data_dir`` (as ``console:admin1``), fed ``script``; what it printed."""
    env = {**os.environ, "DIHYA_DATA_DIR": str(data_dir), "DIHYA_ADMINS": ADMIN}
    return subprocess.run([DIHYA, "console"], input=script, env=env, check=True, capture_output=True, text=True,
                          timeout=120).stdout


@contextmanager
def dihya_serve(data_dir: Path, **settings: str) -> Iterator[Served]:
    """Run ``dihya serve`` until the block ends; ``settings`` are extra ``DIHYA_*`` variables."""
    port = free_port()
    env = {**os.environ, "DIHYA_DATA_DIR": str(data_dir), "DIHYA_HTTP_PORT": str(port), "DIHYA_ADMINS": ADMIN,
           **settings}
    served = Served(f"http://127.0.0.1:{port}", env, data_dir)
    with (data_dir / "serve.log").open("ab") as log:
        process = subprocess.Popen([*_DIE_WITH_PARENT, DIHYA, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        _wait_ready(served, process)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(served: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dihya serve exited: {(served.data_dir / 'serve.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{served.root}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("dihya serve did not answer /healthz")
