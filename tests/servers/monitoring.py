"""A real Prometheus + Alertmanager + node-exporter stack for tests, on free loopback ports.

Follows REAL-SERVERS.md: Debian's binaries, our own config and data directory, 1 s scrape and
evaluation, ``--rules.alert.resend-delay=1s`` (or the first alert is lost for a minute), no
Alertmanager gossip, group_wait 1 s / group_interval 2 s. node-exporter is scraped as instance
``web-01``; stopping it fires ``InstanceDown``, starting it again resolves the alert.

``AlertReceiver`` is the webhook end: a small HTTP server that records every POST.
``running_stack`` and the session fixtures always stop every process they started.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.helpers.ports import free_port

INSTANCE = "web-01"
JOB = "node"
READY_SECONDS = 30.0
STOP_SECONDS = 10.0
# util-linux's setpriv execs the server with a parent-death signal: if pytest itself is killed,
# the servers get SIGTERM instead of lingering. (preexec_fn would do the same but is unsafe once
# the receiver thread runs.)
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "TERM") if shutil.which("setpriv") else ()
RUNBOOK_URL = "https://runbooks.example.org/instance-down"
_INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-monitoring.sh"
# Debian's names first, upstream's second.
_BINARIES = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "node_exporter": ("prometheus-node-exporter", "node_exporter"),
}


# --- ports and processes -----------------------------------------------------------------------




@dataclass
class Daemon:
    """One background server process with its output in a log file."""

    name: str
    argv: list[str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen([*_DIE_WITH_PARENT, *self.argv], stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_SECONDS)
        self.process = None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with status {self.process.returncode}:\n{tail}")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            if condition():
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not true after {timeout:.0f} s")


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=1).status_code == 200


# --- the webhook receiver ----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class AlertReceiver:
    """Records every POST it gets and answers 200; ``wait_for`` polls the recorded deliveries."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="alert-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/alertmanager"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=STOP_SECONDS)

    def mark(self) -> int:
        """Position to pass as ``since`` so a wait ignores what arrived before."""
        with self._lock:
            return len(self.deliveries)

    def wait_for(self, matches: Callable[[Delivery], bool], since: int = 0, timeout: float = 20.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [d for d in self.deliveries[since:] if matches(d)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise TimeoutError(f"no matching webhook delivery within {timeout:.0f} s ({len(self.deliveries)} received)")

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        record = self._record

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                record(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Keep pytest output quiet."""

        return Handler


# --- configuration -----------------------------------------------------------------------------


def _prometheus_config(alertmanager_port: int, exporter_port: int) -> dict[str, object]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [{
            "job_name": JOB,
            # A static "instance" label replaces the default host:port one.
            "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"], "labels": {"instance": INSTANCE}}],
        }],
    }


RULES: dict[str, object] = {"groups": [{"name": "dihya-tests", "rules": [{
    "alert": "InstanceDown",
    "expr": "up == 0",
    "for": "0s",
    "labels": {"severity": "critical"},
    "annotations": {
        "summary": "{{ $labels.instance }} is down",
        "description": "{{ $labels.instance }} of job {{ $labels.job }} has not answered its scrape.",
        "runbook_url": RUNBOOK_URL,
    },
}]}]}


def _alertmanager_config(webhook_url: str, token: str | None) -> dict[str, object]:
    webhook: dict[str, object] = {"url": webhook_url, "send_resolved": True}
    if token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    return {
        "route": {"receiver": "dihya", "group_by": ["alertname", "instance"],
                  "group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"},
        "receivers": [{"name": "dihya", "webhook_configs": [webhook]}],
    }


def _write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, indent=1))  # JSON is YAML
    return path


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class MonitoringStack:
    directory: Path
    prometheus_url: str
    alertmanager_url: str
    exporter_url: str
    daemons: dict[str, Daemon] = field(default_factory=dict)

    def target_down(self) -> None:
        """Stop node-exporter: its next scrape fails and ``InstanceDown`` fires."""
        self.daemons["node_exporter"].stop()

    def target_up(self) -> None:
        """Start node-exporter again on the same port and wait until Prometheus sees it up."""
        exporter = self.daemons["node_exporter"]
        if exporter.process is None:
            exporter.start()
        wait_until(lambda: _answers(f"{self.exporter_url}/metrics"), "node-exporter answering")
        wait_until(self.target_is_up, f"Prometheus scraping {INSTANCE}")

    def target_is_up(self) -> bool:
        return self._values(f'up{{instance="{INSTANCE}"}}') == ["1"]

    def has_history(self) -> bool:
        values = self._values(f'count_over_time(up{{instance="{INSTANCE}"}}[1m])')
        return bool(values) and float(values[0]) >= 3

    def _values(self, query: str) -> list[str]:
        answer = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": query}, timeout=2).json()
        return [r["value"][1] for r in answer["data"]["result"]]

    def alertmanager_discovered(self) -> bool:
        answer = httpx.get(f"{self.prometheus_url}/api/v1/alertmanagers", timeout=2).json()
        return bool(answer["data"]["activeAlertmanagers"])

    def check_alive(self) -> None:
        for daemon in self.daemons.values():
            daemon.check_alive()

    def stop(self) -> None:
        # Prometheus first: Alertmanager then resolves everything, which nobody waits for.
        for name in ("prometheus", "alertmanager", "node_exporter"):
            if name in self.daemons:
                self.daemons[name].stop()


def find_binaries() -> dict[str, str] | None:
    found = {role: next(filter(None, map(shutil.which, names)), None) for role, names in _BINARIES.items()}
    return None if None in found.values() else {k: v for k, v in found.items() if v is not None}


def install_binaries() -> dict[str, str]:
    """Return the binaries, installing them first if needed; skip the tests only if that fails."""
    binaries = find_binaries()
    if binaries is not None:
        return binaries
    result = subprocess.run(["bash", str(_INSTALL_SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(f"prometheus, alertmanager and node-exporter cannot be installed "
                    f"({_INSTALL_SCRIPT.name} exit {result.returncode}: {result.stderr.strip()[-300:]})")
    return binaries


def _daemons(directory: Path, binaries: dict[str, str], ports: dict[str, int]) -> dict[str, Daemon]:
    prom, am, ne = (f"127.0.0.1:{ports[k]}" for k in ("prometheus", "alertmanager", "node_exporter"))
    (directory / "prometheus-data").mkdir()
    (directory / "alertmanager-data").mkdir()
    argv = {
        "node_exporter": [binaries["node_exporter"], f"--web.listen-address={ne}", "--no-collector.systemd"],
        "alertmanager": [binaries["alertmanager"], f"--config.file={directory / 'alertmanager.yml'}",
                         f"--storage.path={directory / 'alertmanager-data'}", f"--web.listen-address={am}",
                         f"--web.external-url=http://{am}/", "--cluster.listen-address="],
        "prometheus": [binaries["prometheus"], f"--config.file={directory / 'prometheus.yml'}",
                       f"--storage.tsdb.path={directory / 'prometheus-data'}", f"--web.listen-address={prom}",
                       f"--web.external-url=http://{prom}/", "--rules.alert.resend-delay=1s"],
    }
    return {name: Daemon(name, args, directory / f"{name}.log") for name, args in argv.items()}


def _start_and_wait(stack: MonitoringStack) -> None:
    # All at once: Prometheus retries its scrapes and Alertmanager pushes, so order does not matter.
    for daemon in stack.daemons.values():
        daemon.start()
    for name, ready_url in (("node_exporter", f"{stack.exporter_url}/metrics"),
                            ("alertmanager", f"{stack.alertmanager_url}/-/ready"),
                            ("prometheus", f"{stack.prometheus_url}/-/ready")):
        wait_until(functools.partial(_checked, stack, ready_url), f"{name} ready")
    wait_until(stack.has_history, f"three scrapes of {INSTANCE}")  # so rate() and ranges have data
    wait_until(stack.alertmanager_discovered, "Prometheus discovering Alertmanager")


def _checked(stack: MonitoringStack, url: str) -> bool:
    stack.check_alive()  # fail fast with the log instead of waiting 30 s on a crashed daemon
    return _answers(url)


@contextlib.contextmanager
def running_stack(directory: Path, webhook_url: str, webhook_token: str | None = None) -> Iterator[MonitoringStack]:
    """Start node-exporter, Alertmanager and Prometheus in ``directory``; stop them all on exit."""
    binaries = install_binaries()
    ports = {name: free_port() for name in ("prometheus", "alertmanager", "node_exporter")}
    _write_json(directory / "prometheus.yml", _prometheus_config(ports["alertmanager"], ports["node_exporter"]))
    _write_json(directory / "rules.yml", RULES)
    _write_json(directory / "alertmanager.yml", _alertmanager_config(webhook_url, webhook_token))
    stack = MonitoringStack(
        directory,
        prometheus_url=f"http://127.0.0.1:{ports['prometheus']}",
        alertmanager_url=f"http://127.0.0.1:{ports['alertmanager']}",
        exporter_url=f"http://127.0.0.1:{ports['node_exporter']}",
        daemons=_daemons(directory, binaries, ports),
    )
    try:
        _start_and_wait(stack)
        yield stack
    finally:
        stack.stop()


# --- pytest fixtures (import them into a conftest.py) ------------------------------------------

WEBHOOK_TOKEN = "test-webhook-token"  # a throwaway token for the test receiver


@pytest.fixture(scope="session")
def alert_receiver() -> Iterator[AlertReceiver]:
    receiver = AlertReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def monitoring_stack(
    tmp_path_factory: pytest.TempPathFactory, alert_receiver: AlertReceiver
) -> Iterator[MonitoringStack]:
    with running_stack(tmp_path_factory.mktemp("monitoring"), alert_receiver.url, WEBHOOK_TOKEN) as stack:
        yield stack


@pytest.fixture
def stack(monitoring_stack: MonitoringStack) -> MonitoringStack:
    """The session stack with its target up, whatever an earlier test did to it."""
    monitoring_stack.check_alive()
    monitoring_stack.target_up()
    return monitoring_stack
