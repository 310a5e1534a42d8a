"""HTTP benchmarks over loopback against a real ``dihya serve``, each beside its floor (``bench.floor``:
a bare Starlette endpoint served the same way, that only parses the JSON and answers the same bytes).

- **alerts** (issue 16): Alertmanager webhook payloads of 10 alerts each, ``CONCURRENCY`` in flight,
  each distinct (new groups, so each is stored, audited and routed — into a storm summary after the
  first few): alerts/s accepted (202) and the p99 response time. A 503 (delivery queue full: the
  bot is behind) is sent again 50 ms later, as Alertmanager retries, so over a run much longer than
  the queue (``DIHYA_ALERT_QUEUE_SIZE``, 1,000 deliveries) the rate is what the bot sustains.
- **api** (issue 13): ``GET /api/it_devops/jobs/{id}`` and ``POST /api/it_devops/deploiements/``
  (staging; the job is queued on Celery over Redis, no worker takes it, so the request, not the
  deploy, is measured): requests/s with ``CONCURRENCY`` in flight, then p50/p99 one at a time, the
  servers taken in turn (``harness.interleaved``);
  beside the floor, the same two routes declared in FastAPI doing nothing (``api.framework``),
  which shows how much of the floor's multiple the framework alone takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import aiohttp
import redis

from bench.figures import Figure, emit
from bench.harness import Load, Served, dihya_cli, dihya_serve, floor_serve, interleaved, load
from tests.helpers.alerts import alert, payload

CONCURRENCY = 16
ALERT_TOKEN = "bench-alert-token-0123456789"
ALERTS_PER_PAYLOAD = 10
API_REDIS = "redis://127.0.0.1:6379/15"  # a database of its own (tests use 9 to 13), flushed before and after
API = "/api/it_devops"


def alert_payloads(n: int, run: str) -> list[bytes]:
    """``n`` Alertmanager groups of 10 firing alerts each, every group and alert distinct."""
    return [payload(f"{run}-{i}", [alert(f"{run}-{i}-{k}", instance=f"web-{i % 50:02d}-{k}")
                                   for k in range(ALERTS_PER_PAYLOAD)]) for i in range(n)]


def alerts_bench(n: int, concurrency: int = CONCURRENCY) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="dihya-bench-alerts-") as tmp:
        env = {"DIHYA_ALERT_WEBHOOK_TOKEN": ALERT_TOKEN, "DIHYA_ALERTS_CHANNEL": "console:alerts"}
        headers = {"Authorization": f"Bearer {ALERT_TOKEN}", "Content-Type": "application/json"}
        with dihya_serve(env, Path(tmp)) as served:
            url = f"{served.base}/hooks/alertmanager"
            asyncio.run(load("POST", url, alert_payloads(max(20, n // 10), "warm"), concurrency, headers, retry=503))
            cpu_before = served.cpu_s()
            measured = asyncio.run(load("POST", url, alert_payloads(n, "run"), concurrency, headers, retry=503))
            cpu_ms = (served.cpu_s() - cpu_before) * 1000 / n
            figures.append(emit(alerts_figure("alerts.dihya", measured, n, cpu_ms)))
        with floor_serve(Path(tmp), {}) as floor:
            url = f"{floor.base}/hooks/alertmanager"
            asyncio.run(load("POST", url, alert_payloads(max(20, n // 10), "warm"), concurrency, headers, retry=503))
            cpu_before = floor.cpu_s()
            measured = asyncio.run(load("POST", url, alert_payloads(n, "run"), concurrency, headers, retry=503))
            cpu_ms = (floor.cpu_s() - cpu_before) * 1000 / n
            figures.append(emit(alerts_figure("alerts.floor", measured, n, cpu_ms)))
    dihya, floor_figure = figures
    ratio = float(dihya.values["alerts_per_s"]) / float(floor_figure.values["alerts_per_s"])
    figures.append(emit(Figure("alerts.ratio", {"of_floor": round(ratio, 2)}, {"of_floor": "≥ 0.33"})))
    return figures


def alerts_figure(name: str, measured: Load, n: int, cpu_ms: float) -> Figure:
    accepted, refused = measured.ok(202), measured.ok(503)
    if accepted != n or accepted + refused != len(measured.latencies_ms):
        raise RuntimeError(f"{name}: {accepted} of {n} deliveries accepted: {measured.statuses}")
    targets = {"alerts_per_s": "≥ 2000", "p99_ms": "≤ 50"} if name.endswith("dihya") else {}
    return Figure(name, {"payloads": n, "alerts_per_s": round(accepted * ALERTS_PER_PAYLOAD / measured.seconds),
                         "p50_ms": round(measured.p50, 2), "p99_ms": round(measured.p99, 2),
                         "answered_503": refused, "concurrency": CONCURRENCY, "server_cpu_ms": round(cpu_ms, 3)},
                  targets)


def api_bench(n: int, concurrency: int = CONCURRENCY) -> list[Figure]:
    queue = redis.Redis.from_url(API_REDIS)
    queue.flushdb()
    try:
        with tempfile.TemporaryDirectory(prefix="dihya-bench-api-") as tmp:
            env = {"DIHYA_ADMINS": "console:admin1", "DIHYA_API_CHANNEL": "console:main", "DIHYA_JOBS": "celery",
                   "DIHYA_REDIS_URL": API_REDIS, "DIHYA_RATE_LIMIT_PER_MINUTE": "0",
                   "DIHYA_DATA_DIR": tmp}
            token = dihya_cli(["token", "create", "--identity", "console:admin1"], env)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            deploy = json.dumps({"service": "web", "environnement": "staging", "version": "v1"}).encode()
            with dihya_serve(env, Path(tmp)) as served:
                first = asyncio.run(_exchange(served.base, headers, deploy))
                with floor_serve(Path(tmp), first) as floor, floor_serve(Path(tmp), first, framework=True) as framework:
                    sides = {"api.dihya": served, "api.floor": floor, "api.framework": framework}
                    figures = asyncio.run(_api_phases(sides, headers, deploy, n, concurrency))
    finally:
        queue.flushdb()
    for route in ("job", "deploy"):
        floor_p50 = float(next(f for f in figures if f.bench == f"api.floor.{route}").values["p50_ms"])
        dihya, framework_p50 = (float(next(f for f in figures if f.bench == f"api.{side}.{route}").values["p50_ms"])
                                for side in ("dihya", "framework"))
        ratios = {"p50_of_floor": round(dihya / floor_p50, 2),
                  "framework_p50_of_floor": round(framework_p50 / floor_p50, 2)}
        figures.append(emit(Figure(f"api.ratio.{route}", ratios, {"p50_of_floor": "≤ 2"})))
    return figures


async def _exchange(base: str, headers: dict[str, str], deploy: bytes) -> dict[str, bytes]:
    """The real API's answers (a staging deploy, then its job's detail) for the floor to repeat."""
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{base}{API}/deploiements/", data=deploy) as answer:
            if answer.status != 202:
                raise RuntimeError(f"deploy: {answer.status} {await answer.text()}")
            accepted = await answer.read()
            location = answer.headers["Location"]
        async with session.get(f"{base}{location}") as answer:
            if answer.status != 200:
                raise RuntimeError(f"job: {answer.status} {await answer.text()}")
            job = await answer.read()
    return {"deploy": accepted, "job": job}


async def _api_phases(sides: dict[str, Served], headers: dict[str, str], deploy: bytes, n: int,
                      concurrency: int) -> list[Figure]:
    """Per route: each server's throughput with ``concurrency`` in flight (one after the other: each
    has the machine to itself), then the latencies one request at a time, the servers in turn."""
    figures = []
    for route, method, path, body in (("job", "GET", f"{API}/jobs/1", None),
                                      ("deploy", "POST", f"{API}/deploiements/", deploy)):
        expected = 200 if method == "GET" else 202
        bursts, cpu_ms = {}, {}
        for name, served in sides.items():
            url = f"{served.base}{path}"
            await load(method, url, [body] * max(20, n // 10), concurrency, headers)  # warm-up
            cpu_before = served.cpu_s()
            bursts[name] = await load(method, url, [body] * n, concurrency, headers)
            cpu_ms[name] = (served.cpu_s() - cpu_before) * 1000 / n
        serials = await interleaved({name: (method, f"{served.base}{path}", body) for name, served in sides.items()},
                                    max(20, n // 2), headers)
        for name in sides:
            burst, serial = bursts[name], serials[name]
            for measured in (burst, serial):
                if measured.ok(expected) != len(measured.latencies_ms):
                    raise RuntimeError(f"{name}.{route}: {measured.statuses}")
            values: dict[str, float | int | str] = {
                "requests": n, "requests_per_s": round(n / burst.seconds), "concurrency": concurrency,
                "server_cpu_ms": round(cpu_ms[name], 3),
                "p50_ms": round(serial.p50, 3), "p99_ms": round(serial.p99, 3),
                "p50_ms_loaded": round(burst.p50, 2), "p99_ms_loaded": round(burst.p99, 2)}
            figures.append(emit(Figure(f"{name}.{route}", values)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("which", choices=("alerts", "api"))
    parser.add_argument("n", type=int, nargs="?", default=5000, help="payloads or requests per phase")
    args = parser.parse_args()
    (alerts_bench if args.which == "alerts" else api_bench)(args.n)


if __name__ == "__main__":
    main()
