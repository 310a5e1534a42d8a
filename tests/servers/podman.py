"""A real Docker Engine API (Podman's) and a real registry (docker-registry) for tests.

Follows the measured recipe in REAL-SERVERS.md: private containers.conf / storage.conf /
registries.conf in the test's directory (vfs storage, runc, cgroupfs, no network, raised ulimits,
the registry marked insecure), ``podman system service`` on a private socket and ``docker-registry
serve`` on a free loopback port. Images are a static busybox rootfs built with ``podman build``
(``--format docker``, so a HEALTHCHECK is kept) and pushed to the registry; the local copies are
removed so the runner really pulls them by digest.

Without systemd, Podman never schedules health checks; ``HealthTimer`` plays the part of its
timer and asks the engine to run each container's check (``podman healthcheck run``), so the
verdict is still the engine's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers.ports import free_port

READY_SECONDS = 30.0
BINARIES = ("podman", "runc", "docker-registry", "busybox")
APPLETS = ("sh", "sleep", "echo", "true", "false", "test", "touch", "cat", "env")

# Serves until stopped; says when it started and stopped, and becomes ready (/tmp/ready, which the
# images with a healthcheck test) READY_AFTER seconds after it started.
RUN = """#!/bin/sh
trap 'echo "stopping gracefully"; exit 0' TERM
echo "started $APP_VERSION"
(sleep "${READY_AFTER:-0}"; touch /tmp/ready) &
sleep 3600 & wait $!
"""
CRASH = """#!/bin/sh
echo "crashing"
sleep 1
exit 1
"""
READY_CHECK = 'HEALTHCHECK --interval=1s --timeout=5s --retries=30 CMD ["/bin/test", "-f", "/tmp/ready"]'


@dataclass(frozen=True, slots=True)
class ImageSpec:
    tag: str
    env: tuple[str, ...] = ()
    healthcheck: str = ""  # a Containerfile HEALTHCHECK line, or none
    cmd: str = "/bin/run"


# The images the Docker runner tests deploy, all in one repository ``web``.
IMAGES = (
    ImageSpec("v1", ("APP_VERSION=v1",)),
    ImageSpec("v2", ("APP_VERSION=v2",)),
    ImageSpec("v3", ("APP_VERSION=v3",)),
    ImageSpec("h1", ("APP_VERSION=h1",), READY_CHECK),
    ImageSpec("h2", ("APP_VERSION=h2", "READY_AFTER=1"), READY_CHECK),
    ImageSpec("h3", ("APP_VERSION=h3", "READY_AFTER=4"), READY_CHECK),  # a long wait for health
    ImageSpec("sick", ("APP_VERSION=sick",), 'HEALTHCHECK --interval=1s --retries=1 CMD ["/bin/false"]'),
    ImageSpec("crash", ("APP_VERSION=crash",), 'HEALTHCHECK --interval=1s --retries=1000 CMD ["/bin/false"]',
              "/bin/crash"),
    ImageSpec("nostart", ("APP_VERSION=nostart",), cmd="/bin/no-such-program"),
    ImageSpec("slow", ("APP_VERSION=slow",),
              'HEALTHCHECK --interval=1s --start-period=1h --retries=1 CMD ["/bin/false"]'),
)


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


@dataclass
class PodmanEngine:
    """The running pair: the engine's socket, the registry's address, and what was pushed."""

    directory: Path
    socket: Path
    registry: str  # "127.0.0.1:PORT"
    env: dict[str, str]
    digests: dict[str, str] = field(default_factory=dict)  # "REGISTRY/web:TAG" → pushed digest

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def repository(self) -> str:
        return f"{self.registry}/web"

    def ref(self, tag: str) -> str:
        return f"{self.repository}:{tag}"

    def podman(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def reset(self) -> None:
        """Remove every container and every local image, so the next pull goes to the registry."""
        self.podman("rm", "--all", "--force", "--time", "0")
        self.podman("rmi", "--all", "--force")


class HealthTimer:
    """Runs the engine's health check of every container that has one, every ``every`` seconds."""

    def __init__(self, engine: PodmanEngine, every: float = 0.5) -> None:
        self._engine, self._every = engine, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="podman-health-timer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                ids = self._engine.podman("ps", "--quiet", "--no-trunc", "--filter", "health=starting",
                                          "--filter", "health=healthy").split()
                for container_id in ids:
                    # exit status 1 is an unhealthy verdict, recorded by the engine: not an error here
                    subprocess.run(["podman", "healthcheck", "run", container_id], env=self._engine.env,
                                   capture_output=True, timeout=30, check=False)


@contextlib.contextmanager
def running_podman(directory: Path) -> Iterator[PodmanEngine]:
    """Start the engine and the registry in ``directory``, push ``IMAGES``; stop both by pid on exit."""
    missing = missing_binaries()
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: run scripts/install-podman.sh")
    port = free_port()
    registry = f"127.0.0.1:{port}"
    env = _write_configs(directory, registry)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with (directory / "registry.log").open("wb") as out:
            processes.append(subprocess.Popen(["docker-registry", "serve", str(directory / "registry.yml")],
                                              stdout=out, stderr=subprocess.STDOUT, env=env))
        socket = directory / "podman.sock"
        with (directory / "podman.log").open("wb") as out:
            processes.append(subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket}"],
                                              stdout=out, stderr=subprocess.STDOUT, env=env))
        _wait_ready(processes, lambda: httpx.get(f"http://{registry}/v2/", timeout=1).status_code == 200)
        transport = httpx.HTTPTransport(uds=str(socket))
        with httpx.Client(transport=transport, timeout=1) as ping:
            _wait_ready(processes, lambda: ping.get("http://podman/_ping").status_code == 200)
        engine = PodmanEngine(directory, socket, registry, env)
        _push_images(engine)
        timer = HealthTimer(engine)
        timer.start()
        try:
            yield engine
        finally:
            timer.stop()
            with contextlib.suppress(Exception):
                engine.reset()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _write_configs(directory: Path, registry: str) -> dict[str, str]:
    storage, run = directory / "storage", directory / "run"
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    (directory / "containers.conf").write_text(f"""[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
log_driver = "k8s-file"

[network]
default_network = "none"
network_config_dir = "{directory / 'networks'}"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{directory / 'events.log'}"
tmp_dir = "{directory / 'tmp'}"
static_dir = "{storage / 'libpod'}"
volume_path = "{storage / 'volumes'}"
""")
    (directory / "storage.conf").write_text(f"""[storage]
driver = "vfs"
graphroot = "{storage}"
runroot = "{run}"
""")
    (directory / "registries.conf").write_text(f"""unqualified-search-registries = []

[[registry]]
location = "{registry}"
insecure = true
""")
    (directory / "registry.yml").write_text(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {directory / 'registry'}
http:
  addr: {registry}
""")
    return {**os.environ, "CONTAINERS_CONF": str(directory / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(directory / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(directory / "registries.conf"), "TMPDIR": str(directory / "tmp")}


def _wait_ready(processes: list[subprocess.Popen[bytes]], ready: object) -> None:
    assert callable(ready)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with status {process.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"not ready after {READY_SECONDS:.0f} s")


def _push_images(engine: PodmanEngine) -> None:
    context = engine.directory / "build"
    bin_dir = context / "rootfs" / "bin"
    bin_dir.mkdir(parents=True)
    (context / "rootfs" / "tmp").mkdir(mode=0o1777)
    busybox = shutil.which("busybox")
    assert busybox is not None
    shutil.copy(busybox, bin_dir / "busybox")
    for applet in APPLETS:
        (bin_dir / applet).symlink_to("busybox")
    for name, script in (("run", RUN), ("crash", CRASH)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    subprocess.run(["tar", "-C", str(context / "rootfs"), "-cf", str(context / "rootfs.tar"), "."], check=True)
    for spec in IMAGES:
        containerfile = context / f"Containerfile.{spec.tag}"
        containerfile.write_text("\n".join([
            "FROM scratch", "ADD rootfs.tar /", *(f"ENV {e}" for e in spec.env), spec.healthcheck,
            f'CMD ["{spec.cmd}"]', "",
        ]))
        ref = engine.ref(spec.tag)
        engine.podman("build", "--quiet", "--format", "docker", "--file", str(containerfile), "--tag", ref,
                      str(context))
        digest_file = context / f"digest.{spec.tag}"
        engine.podman("push", "--quiet", "--tls-verify=false", "--digestfile", str(digest_file), ref)
        engine.digests[ref] = digest_file.read_text().strip()
    engine.reset()
