"""What the HTTP benchmarks share: a loopback HTTP load generator, and ``dihya serve`` or the floor's
bare Starlette app in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psutil  # type: ignore[import-untyped]

from bench.figures import ROOT
from tests.helpers.ports import free_port

DIHYA = str(Path(sys.executable).with_name("dihya"))
RETRY_S = 0.05


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


@dataclass
class Load:
    """The outcome of a load phase: requests by status, the rate of accepted ones, latencies (ms)."""

    statuses: dict[int, int]
    seconds: float
    latencies_ms: list[float]

    def ok(self, status: int) -> int:
        return self.statuses.get(status, 0)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return percentile(sorted(self.latencies_ms), 0.99)


async def _timed(session: aiohttp.ClientSession, method: str, url: str, body: bytes | None) -> tuple[float, int]:
    """One request, read to its end: (milliseconds, status)."""
    start = time.perf_counter()
    async with session.request(method, url, data=body) as response:
        await response.read()
    return (time.perf_counter() - start) * 1000, response.status


async def load(method: str, url: str, bodies: Sequence[bytes | None], concurrency: int,
               headers: dict[str, str] | None = None, retry: int | None = None) -> Load:
    """Send one request per body (None: no body) with ``concurrency`` in flight, over keep-alive
    connections (aiohttp: a client light enough not to be what is measured). A ``retry`` answer
    (503: queue full) is sent again after ``RETRY_S``, as Alertmanager does after its backoff;
    every answer counts in ``statuses`` and ``latencies_ms``."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers or {}) as session:

        async def worker() -> None:
            for body in queue:
                while True:
                    took, status = await _timed(session, method, url, body)
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != retry:
                        break
                    await asyncio.sleep(RETRY_S)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Load(statuses, seconds, latencies)


async def interleaved(requests: Mapping[str, tuple[str, str, bytes | None]], n: int,
                      headers: dict[str, str] | None = None, rounds: int = 10) -> dict[str, Load]:
    """``n`` requests to each of ``requests`` (name -> method, url, body), one at a time, the servers
    taken in turn ``rounds`` times: a machine whose speed drifts during the run (a shared VM) then
    weighs on every side alike, which one phase after the other did not (the same run's ratio moved
    between 1.8 and 2.5). Each side keeps its keep-alive connection throughout."""
    latencies: dict[str, list[float]] = {name: [] for name in requests}
    statuses: dict[str, dict[int, int]] = {name: {} for name in requests}
    seconds = dict.fromkeys(requests, 0.0)
    sessions = {name: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), headers=headers or {})
                for name in requests}
    try:
        for _ in range(rounds):
            for name, (method, url, body) in requests.items():
                session = sessions[name]
                for _ in range(max(1, n // rounds)):
                    took, status = await _timed(session, method, url, body)
                    seconds[name] += took / 1000
                    latencies[name].append(took)
                    statuses[name][status] = statuses[name].get(status, 0) + 1
    finally:
        for session in sessions.values():
            await session.close()
    return {name: Load(statuses[name], seconds[name], latencies[name]) for name in requests}


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Seconds until ``/healthz`` answers 200 (polled every 20 ms)."""
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        if time.monotonic() - started > timeout:
            raise RuntimeError("the server did not answer /healthz")
        time.sleep(0.02)


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    startup_s: float

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_s(self) -> float:
        """CPU time the server has used so far (user + system): steadier than wall time on a busy machine."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 2**20


@contextmanager
def subprocess_server(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Served]:
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, process)
        yield Served(port, process, time.monotonic() - started)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def dihya_serve(env: dict[str, str], data_dir: Path) -> Iterator[Served]:
    """``dihya serve`` as an operator runs it, its data in ``data_dir``, on a free loopback port."""
    port = free_port()
    full = {"DIHYA_DATA_DIR": str(data_dir), "DIHYA_HTTP_PORT": str(port), "PYTHONPATH": str(ROOT), **env}
    with subprocess_server([DIHYA, "serve"], full, port, data_dir / "serve.log") as served:
        yield served


@contextmanager
def floor_serve(data_dir: Path, responses: dict[str, bytes], framework: bool = False) -> Iterator[Served]:
    """The floor: ``bench.floor``'s bare Starlette app, served like ``dihya serve`` serves its own
    (``framework``: the API's routes declared in FastAPI, doing nothing)."""
    port = free_port()
    spec = data_dir / "floor.json"
    spec.write_text(json.dumps({k: v.decode() for k, v in responses.items()}))
    command = [sys.executable, "-m", "bench.floor", str(port), str(spec), *(["--framework"] if framework else [])]
    with subprocess_server(command, {"PYTHONPATH": str(ROOT)}, port, data_dir / "floor.log") as served:
        yield served


def dihya_cli(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run([DIHYA, *args], env={**os.environ, **env}, check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()
