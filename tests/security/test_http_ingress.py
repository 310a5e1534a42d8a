"""Issue 10, holes 2 and 12, against ``dihya serve`` itself: a subprocess with the Slack adapter in
HTTP mode and the Alertmanager webhook, posted at over loopback like an outsider would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.fakes.slack_api import FakeSlackApi
from tests.helpers.ingress import MIB, CountingBody
from tests.helpers.ports import free_port

SIGNING_SECRET = "8d1f3c5a7b9e0f2a4c6e8a0b2d4f6a8c"
HOOK_TOKEN = "hook-token-9a8b7c6d5e"
CANARY = b"canary-0f-a-f1ood-"
CUT_OFF_S = 1.0  # the read deadlines of the impatient server


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    logs: Path

    def log_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.logs.parent.glob(self.logs.name + "*"))

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs.parent.glob(self.logs.name + "*"))

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


@contextmanager
def serving(data: Path, **settings: str) -> Iterator[Served]:
    port = free_port()
    with FakeSlackApi() as slack_api:
        env = {**os.environ, "DIHYA_DATA_DIR": str(data), "DIHYA_HTTP_PORT": str(port),
               "DIHYA_SLACK_BOT_TOKEN": "xoxb-1-2-flood", "DIHYA_SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "DIHYA_SLACK_API_URL": slack_api.url, "DIHYA_ALERT_WEBHOOK_TOKEN": HOOK_TOKEN,
               "DIHYA_ALERTS_CHANNEL": "console:main", "DIHYA_LOG_LEVEL": "DEBUG", **settings}
        process = subprocess.Popen([str(Path(sys.executable).with_name("dihya")), "serve"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None and time.monotonic() < deadline, "dihya serve did not answer"
                    time.sleep(0.2)
            yield Served(url, port, process, data / "dihya.log")
        finally:
            process.terminate()
            process.wait(20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """With the default settings."""
    with serving(tmp_path) as server:
        yield server


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Served]:
    """With one-second read deadlines."""
    with serving(tmp_path, DIHYA_HTTP_HEADER_TIMEOUT_SECONDS=str(CUT_OFF_S),
                 DIHYA_HTTP_BODY_TIMEOUT_SECONDS=str(CUT_OFF_S)) as server:
        yield server


def slack_signed(body: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# -- hole 2 ----------------------------------------------------------------------------------------
async def test_hole_2_unsigned_slack_floods_cost_neither_disk_nor_memory(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
        challenge = json.dumps({"type": "url_verification", "challenge": "ch4llenge-42", "token": "t"}).encode()
        answer = await http.post("/slack/events", content=challenge, headers=slack_signed(challenge))
        assert (answer.status_code, "ch4llenge-42" in answer.text) == (200, True)  # Slack itself still gets in
        rss, logged = served.rss(), served.log_bytes()
        five_mb = CANARY * (5 * MIB // len(CANARY))
        for _ in range(20):  # as measured in the issue: 20 × 5 MB, unsigned
            answer = await http.post("/slack/events", content=five_mb, headers={"Content-Type": "application/json"})
            assert answer.status_code == 413
            answer = await http.post("/slack/events", content=CountingBody(5, fill=CANARY))  # chunked, unsigned
            assert answer.status_code == 401
        for _ in range(4):  # 4 × 100 MB, with a made-up signature, streamed without a length
            forged = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
            answer = await http.post("/slack/events", content=CountingBody(100, fill=CANARY), headers=forged)
            assert answer.status_code == 413
        for body in (b"payload=x", b"payload=" + b"[" * 100_000):
            answer = await http.post("/slack/events", content=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 401  # unsigned: refused before parsing
            answer = await http.post("/slack/events", content=body, headers={
                **slack_signed(body), "Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 400  # signed but malformed: 400, never 500
    assert served.rss() - rss < 40 * MIB
    assert served.log_bytes() - logged < 64 * 1024
    assert CANARY.decode() not in served.log_text()


# -- hole 12 ---------------------------------------------------------------------------------------
async def seconds_until_closed(port: int, sent: list[bytes], pause: float) -> float:
    """Connect, send ``sent`` piece by piece ``pause`` seconds apart; how long until the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()

    async def trickle() -> None:
        for piece in sent:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause)
        await asyncio.sleep(60)

    sender = asyncio.create_task(trickle())
    try:
        while await asyncio.wait_for(reader.read(65536), 30):
            pass  # a response to a complete earlier request, on a kept-alive connection
    except (ConnectionError, TimeoutError):
        pass
    finally:
        sender.cancel()
        writer.close()
    return time.monotonic() - started


def by_byte(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


async def test_hole_12_slow_clients_are_cut_off(impatient: Served) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: dihya\r\nUser-Agent: slow-loris/1.0\r\nAccept: */*\r\n\r\n"
    hook = (b"POST /hooks/alertmanager HTTP/1.1\r\nHost: dihya\r\nAuthorization: Bearer " + HOOK_TOKEN.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    cases = {
        "silent": seconds_until_closed(impatient.port, [], 0),
        "head byte by byte": seconds_until_closed(impatient.port, by_byte(head), 0.1),
        "body byte by byte": seconds_until_closed(impatient.port, [hook, *by_byte(b'{"version": "4"' + b" " * 985)],
                                                  0.1),
        "second head byte by byte": seconds_until_closed(impatient.port, [head, *by_byte(head)], 0.1),
    }
    slow = asyncio.gather(*cases.values())
    async with httpx.AsyncClient(base_url=impatient.url, timeout=5) as http:
        await asyncio.sleep(0.3)
        started = time.monotonic()
        assert (await http.get("/healthz")).status_code == 200  # others are served meanwhile
        assert time.monotonic() - started < 0.5
    lasted = dict(zip(cases, await slow, strict=True))
    assert all(seconds < CUT_OFF_S + 2 for seconds in lasted.values()), lasted
