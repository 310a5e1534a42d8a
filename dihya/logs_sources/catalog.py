"""``CatalogLogs``: the core's ``LogReader``. It finds where a service runs in the service catalog,
reads from that backend within bounds, redacts every line with the filter every output uses, and
only then searches (so a search cannot probe a redacted secret), keeping the last matches."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bot.catalog import Deployment, ServiceCatalog
from bot.errors import UserError
from bot.i18n import N_
from bot.servicelogs import LogQuery, LogResult
from dihya.engine_clients import docker_client, kubernetes_api
from dihya.logs_sources.base import MAX_BYTES, MAX_SCAN_LINES, LogSource, Window, matcher
from dihya.redaction import Redactor
from dihya.runners.servers import ServerInventories
from dihya.settings import Settings

MAX_RESULT_BYTES = 1024 * 1024  # what one answer may carry (inline or as a file)
API_TIMEOUT_S = 10

SourceFactory = Callable[[Deployment], LogSource]


class CatalogLogs:
    def __init__(self, catalog: ServiceCatalog, redactor: Redactor, sources: SourceFactory,
                 clock: Callable[[], float] = time.time) -> None:
        self._catalog = catalog
        self._redact = redactor
        self._sources = sources
        self._clock = clock

    @classmethod
    def build(cls, catalog: ServiceCatalog, settings: Settings, redactor: Redactor,
              servers: ServerInventories | None = None) -> CatalogLogs:
        return cls(catalog, redactor, SettingsSources(settings, servers))

    def read(self, query: LogQuery) -> LogResult:
        source = self._sources(self._catalog.deployment(query.service, query.env))
        match = matcher(query.grep, query.regex)
        scan = min(MAX_SCAN_LINES, query.lines * 10) if query.grep else query.lines
        fetched = source.fetch(Window(query.since_s, scan, MAX_BYTES, self._clock()))
        redacted = (self._redact(line.render()) for line in fetched.lines)
        kept = [line for line in redacted if match(line)][-query.lines:]
        within, cut = _within(kept, MAX_RESULT_BYTES)
        return LogResult(source.description, tuple(within), fetched.truncated or cut)


def _within(lines: list[str], limit: int) -> tuple[list[str], bool]:
    """The newest lines that fit in ``limit`` bytes."""
    total, start = 0, len(lines)
    while start > 0 and total + len(lines[start - 1].encode()) + 1 <= limit:
        start -= 1
        total += len(lines[start].encode()) + 1
    return lines[start:], start > 0


class SettingsSources:
    """The log source a catalog entry names: ``log_unit`` (journald) or ``log_file`` when set, else the
    runner's own logs (Docker, Kubernetes). A ``log_file`` is read on this machine (relative to the data
    directory), or — for a service deployed by Ansible to its environment's servers (``hosts`` other
    than ``localhost``) — on each of those servers through Ansible over SSH."""

    def __init__(self, settings: Settings, servers: ServerInventories | None = None) -> None:
        self._settings = settings
        self._servers = servers
        self._ansible: object | None = None

    def __call__(self, deployment: Deployment) -> LogSource:
        from dihya.logs_sources.file_logs import FileLogs
        from dihya.logs_sources.journald_logs import JournaldLogs

        params = deployment.params
        if params.get("log_unit"):
            return JournaldLogs(params["log_unit"])
        if params.get("log_file") and self._servers is not None and params.get("hosts", "localhost") != "localhost":
            return self._remote_file(deployment)
        if params.get("log_file"):
            path = Path(params["log_file"])
            return FileLogs(path if path.is_absolute() else self._settings.data_dir / path)
        if deployment.runner == "docker":
            return self._docker(deployment)
        if deployment.runner == "kubernetes":
            return self._kubernetes(deployment)
        raise UserError(N_("No log source is declared for {service} in {env} (log_file or log_unit in the catalog)."),
                        service=deployment.service, env=deployment.environment)

    def _remote_file(self, deployment: Deployment) -> LogSource:
        from dihya.logs_sources.remote_file_logs import RemoteFileLogs

        servers, env = self._servers, deployment.environment
        assert servers is not None
        return RemoteFileLogs(deployment.params["log_file"], lambda: servers.environment(env), self._playbooks())

    def _playbooks(self) -> object:
        """One Ansible runner for every read, created on first use (its private directories under ``data_dir/runs``)."""
        if self._ansible is None:
            from dihya.jobs.backends import DeferredAnsible

            self._ansible = DeferredAnsible(self._settings.content_dir.resolve(),
                                            (self._settings.data_dir / "runs").resolve())
        return self._ansible

    def _docker(self, deployment: Deployment) -> LogSource:
        from dihya.logs_sources.docker_logs import DockerLogs

        return DockerLogs(docker_client(self._settings, API_TIMEOUT_S), deployment.params["container"])

    def _kubernetes(self, deployment: Deployment) -> LogSource:
        from dihya.logs_sources.kube_logs import KubernetesLogs

        p = deployment.params
        return KubernetesLogs(kubernetes_api(self._settings), p["namespace"], p["deployment"], p.get("container"))
