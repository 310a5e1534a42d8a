"""Deploy a container image with the Docker SDK: pull, verify the digest, replace, wait for health.

The container being replaced is stopped and kept as ``<name>-previous``: a failed deploy brings it
back at once, and ``rollback`` brings it back later. The first deploy, when there is no container
yet, creates it from the catalog's ``env`` and ``ports``. Nothing here goes through a shell; every
value that reaches the Docker API is checked against an allow pattern first and sent as request data.

Measured on Podman's Docker API as well as Docker: a container without a healthcheck may report
``Health`` with an empty status (Docker says ``none`` or leaves it out); ``StopTimeout`` may be 0, so
stops give their grace period explicitly; the engine writes ``HOSTNAME`` into each container's env.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container

from bot.i18n import N_, Msg
from dihya.integrity import IntegrityError
from dihya.runners.base import CancelToken, ProgressSink, RunnerError, RunResult
from dihya.runners.steps import (
    ENV_ENTRY,
    PORT_SPEC,
    REPOSITORY_RE,
    VERSION,
    Cancelled,
    DigestLookup,
    StepFailed,
    Steps,
    allowed_digest_of,
    require,
    stopped,
)

# Docker-style names and tags; ``fullmatch`` so that a trailing newline never slips through ``$``.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ENGINE_ENV = frozenset({"HOSTNAME"})  # written by the engine per container: never copied to the next one
STOP_GRACE_S = 10  # SIGTERM, then SIGKILL after this long (Podman's default StopTimeout is 0: kill at once)
BIND_OPTIONS = frozenset({"ro", "rw", "z", "Z"})
NO_HEALTHCHECK = frozenset({"", "none"})  # Health.Status when no healthcheck is declared

log = logging.getLogger("dihya.runners.docker")
PREVIOUS_SUFFIX = "-previous"

PULL, VERIFY, KEEP, START, HEALTH = (
    "pull image", "verify digest", "keep previous container", "start new container", "wait for health",
)
DEPLOY_STEPS = (PULL, VERIFY, KEEP, START, HEALTH)
FIND, RESTORE = "find previous container", "restore previous container"
RESTART = "restart container"
ROLLBACK_STEPS = (FIND, RESTORE, HEALTH)


@dataclass(frozen=True, slots=True)
class DockerTarget:
    container: str  # name of the container to replace, e.g. "web"
    image: str  # repository without tag, e.g. "registry.example.org/web"
    env: tuple[str, ...] = ()  # "NAME=value" for a container the first deploy creates
    ports: tuple[str, ...] = ()  # "[IP:]HOST:CONTAINER[/proto]" for a container the first deploy creates

    @property
    def previous(self) -> str:
        return self.container + PREVIOUS_SUFFIX

    def ref(self, version: str) -> str:
        return f"{self.image}:{version}"


def check_target(target: DockerTarget) -> None:
    """Refuse names that are not plain Docker names, before anything is sent."""
    require(_NAME, target.container, N_("container name"))
    require(REPOSITORY_RE, target.image, N_("image repository"))
    for entry in target.env:
        require(ENV_ENTRY, entry, N_("environment variable"))
    for spec in target.ports:
        require(PORT_SPEC, spec, N_("port mapping"))


def check_version(version: str) -> None:
    require(VERSION, version, N_("version"))


class DockerDeployer:
    """Replaces a container by one running an allowed image version, keeping the old one for rollback."""

    __slots__ = ("_allowed_digest", "_client", "_stop_grace_s")

    def __init__(self, client: docker.DockerClient, allowed_digest: DigestLookup,
                 stop_grace_s: int = STOP_GRACE_S) -> None:
        self._client = client
        self._allowed_digest = allowed_digest
        self._stop_grace_s = stop_grace_s

    def deploy(
        self, target: DockerTarget, version: str, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 120.0, poll_s: float = 1.0,
    ) -> RunResult:
        check_target(target)
        check_version(version)
        ref = target.ref(version)
        digest = allowed_digest_of(ref, self._allowed_digest)
        current = self._find(target.container)  # None: the first deploy creates it
        steps = Steps(DEPLOY_STEPS, progress, cancel)
        try:
            steps.begin(PULL)
            self._pull(target.image, version)
            steps.begin(VERIFY)
            pinned = self._verify(target.image, ref, digest)
            steps.begin(KEEP)
        except Cancelled:
            return _cancelled(ref, target, changed=False)
        except (DockerException, OSError, StepFailed) as exc:
            return _failed(ref, target, steps.current, exc, changed=False)
        return self._replace(target, current, pinned, steps, timeout_s, poll_s, ref=ref, digest=digest)

    def rollback(
        self, target: DockerTarget, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 120.0, poll_s: float = 1.0,
    ) -> RunResult:
        """Bring ``<name>-previous`` back as ``<name>``; the container it replaces is removed (its image stays)."""
        check_target(target)
        steps = Steps(ROLLBACK_STEPS, progress, cancel)
        try:
            steps.begin(FIND)
            previous = self._find(target.previous)
            if previous is None:
                raise RunnerError(Msg(N_("There is no previous container {name} to roll back to"),
                                      {"name": target.previous}))
            steps.begin(RESTORE)
            self._restore(target, previous.id)
            steps.begin(HEALTH)
            self._wait_healthy(previous.id, steps, timeout_s, poll_s)
        except (Cancelled, DockerException, OSError, StepFailed) as exc:
            summary = (Msg(N_("Rollback of {container} cancelled"), {"container": target.container})
                       if isinstance(exc, Cancelled) else
                       Msg(N_("Rollback of {container} failed at step {step}"),
                           {"container": target.container, "step": steps.current}))
            return stopped(exc, steps.current, summary)
        return RunResult(ok=True, summary=Msg(N_("Container {container} rolled back to image {image}"),
                                              {"container": target.container, "image": _image_name(previous)}))

    def restart(
        self, target: DockerTarget, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 120.0, poll_s: float = 1.0,
    ) -> RunResult:
        """Restart the container in place and wait until it is healthy again."""
        check_target(target)
        steps = Steps((RESTART, HEALTH), progress, cancel)
        try:
            steps.begin(RESTART)
            container = self._current_container(target)
            container.restart(timeout=self._stop_grace_s)
            steps.begin(HEALTH)
            self._wait_healthy(container.id, steps, timeout_s, poll_s)
        except (Cancelled, DockerException, OSError, StepFailed) as exc:
            summary = (Msg(N_("Restart of {container} cancelled"), {"container": target.container})
                       if isinstance(exc, Cancelled) else
                       Msg(N_("Restart of {container} failed at step {step}"),
                           {"container": target.container, "step": steps.current}))
            return stopped(exc, steps.current, summary)
        return RunResult(ok=True, summary=Msg(N_("Restarted container {container}"), {"container": target.container}))

    # -- deploy steps ------------------------------------------------------------------------

    def _current_container(self, target: DockerTarget) -> Container:
        try:
            return self._client.containers.get(target.container)
        except NotFound:
            raise RunnerError(Msg(N_("There is no container {name} to deploy to"),
                                  {"name": target.container})) from None

    def _pull(self, repository: str, version: str) -> None:
        # The pull answers 200 and reports failures inside its JSON stream, so read it all.
        for line in self._client.api.pull(repository, tag=version, stream=True, decode=True):
            if isinstance(line, Mapping) and line.get("error"):
                raise StepFailed(str(line["error"]))

    def _verify(self, repository: str, ref: str, digest: str) -> str:
        """Return a reference pinned to the verified digest, so the tag cannot move under us."""
        repo_digests = self._client.images.get(ref).attrs.get("RepoDigests") or []
        if digest not in {entry.partition("@")[2] for entry in repo_digests}:
            actual = ", ".join(entry.partition("@")[2] for entry in repo_digests) or "-"
            raise IntegrityError(Msg(
                N_("Refused {ref}: its digest {actual} does not match the allowed digest {expected}"),
                {"ref": ref, "actual": actual, "expected": digest},
            ))
        return f"{repository}@{digest}"

    def _replace(
        self, target: DockerTarget, current: Container | None, pinned: str, steps: Steps,
        timeout_s: float, poll_s: float, *, ref: str, digest: str,
    ) -> RunResult:
        """Keep the current container as previous, start the new one; put the old one back on any failure.
        Without a current container, a failure removes the new one and leaves nothing running."""
        keep_id = current.id if current is not None else None
        try:
            if current is not None:
                self._keep_previous(current, target)
            steps.begin(START)
            settings = self._essentials(current) if current is not None else _from_catalog(target)
            new = self._start(pinned, target.container, settings)
            steps.begin(HEALTH)
            self._wait_healthy(new.id, steps, timeout_s, poll_s)
        except Cancelled:
            return _cancelled(ref, target, changed=True, restored=self._try_restore(target, keep_id),
                              first=keep_id is None)
        except (DockerException, OSError, StepFailed) as exc:
            restored = self._try_restore(target, keep_id)
            return _failed(ref, target, steps.current, exc, changed=True, restored=restored, first=keep_id is None)
        return RunResult(ok=True, summary=Msg(N_("Deployed {ref} to container {container}"),
                                              {"ref": ref, "container": target.container}),
                         details={"digest": digest,
                                  "previous_image": _image_name(current) if current is not None else ""})

    def _keep_previous(self, current: Container, target: DockerTarget) -> None:
        older = self._find(target.previous)
        if older is not None:
            older.remove(force=True)
        current.stop(timeout=self._stop_grace_s)
        current.rename(target.previous)

    def _start(self, image: str, name: str, settings: Mapping[str, Any]) -> Container:
        new = self._client.containers.create(image, name=name, **settings)
        new.start()
        return new

    def _essentials(self, old: Container) -> dict[str, Any]:
        """What the old container was given at creation (not what its image brought along)."""
        config, host = old.attrs.get("Config") or {}, old.attrs.get("HostConfig") or {}
        image_config = self._image_config(old.attrs.get("Image", ""))
        image_env = set(image_config.get("Env") or [])
        image_labels = image_config.get("Labels") or {}
        essentials: dict[str, Any] = {
            "environment": [e for e in config.get("Env") or []
                            if e not in image_env and e.partition("=")[0] not in ENGINE_ENV],
            "labels": {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v},
            "ports": {port: [(b.get("HostIp", ""), b.get("HostPort", "")) for b in bindings or []]
                      for port, bindings in (host.get("PortBindings") or {}).items()},
        }
        binds = [_bind(entry) for entry in host.get("Binds") or []]
        for key, value in (("volumes", binds), ("restart_policy", _restart_policy(host)),
                           ("network_mode", host.get("NetworkMode"))):
            if value:
                essentials[key] = value
        return essentials

    def _image_config(self, image_id: str) -> Mapping[str, Any]:
        try:
            return self._client.images.get(image_id).attrs.get("Config") or {}
        except NotFound:  # the old image is gone: keep every setting rather than guess
            return {}

    def _wait_healthy(self, container_id: str, steps: Steps, timeout_s: float, poll_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        restarts: int | None = None
        while True:
            info = self._client.api.inspect_container(container_id)
            state = info.get("State") or {}
            # a restart policy brings a crashed container back: count the restarts, not the status
            count = int(info.get("RestartCount") or 0)
            restarts = count if restarts is None else restarts
            if count > restarts or state.get("Restarting"):
                raise StepFailed(f"container exited and was restarted by its restart policy ({count} restarts)")
            if _is_healthy(state):
                return
            if state.get("Status") in {"exited", "dead"} or _health(state) == "unhealthy":
                raise StepFailed(f"container {state.get('Status')}, health {_health(state)}")
            if time.monotonic() >= deadline:
                raise StepFailed(f"not healthy after {timeout_s:g}s (health {_health(state)})", timed_out=True)
            steps.check_cancel()
            time.sleep(poll_s)

    # -- restoring -----------------------------------------------------------------------------

    def _restore(self, target: DockerTarget, keep_id: str | None) -> None:
        """Make container ``keep_id`` the running ``<name>`` again, removing whatever took its place
        (with ``None``, after a first deploy: only remove it)."""
        live = self._find(target.container)
        if live is not None and live.id != keep_id:
            live.remove(force=True)
        if keep_id is None:
            return
        kept = self._client.containers.get(keep_id)
        if kept.name != target.container:
            kept.rename(target.container)
        kept.start()

    def _try_restore(self, target: DockerTarget, keep_id: str | None) -> bool:
        try:
            self._restore(target, keep_id)
        except (DockerException, OSError) as exc:
            log.warning("could not restore the previous container",
                        extra={"container": target.container, "error": type(exc).__name__})
            return False
        return True

    def _find(self, name: str) -> Container | None:
        try:
            return self._client.containers.get(name)
        except NotFound:
            return None


def _is_healthy(state: Mapping[str, Any]) -> bool:
    health = _health(state)
    if health in NO_HEALTHCHECK:
        return bool(state.get("Running"))
    return health == "healthy"  # the image declares a healthcheck: trust it


def _from_catalog(target: DockerTarget) -> dict[str, Any]:
    """Settings of a container the first deploy creates: the catalog's env and ports."""
    ports: dict[str, list[tuple[str, str]]] = {}
    for spec in target.ports:
        match = PORT_SPEC.fullmatch(spec)
        assert match is not None  # check_target refused anything else
        key = f"{match['port']}/{match['proto'] or 'tcp'}"
        ports.setdefault(key, []).append((match["ip"] or "", match["host"]))
    return {"environment": list(target.env), "ports": ports, "restart_policy": {"Name": "unless-stopped"}}


def _bind(entry: str) -> str:
    """A bind as ``create`` takes it: Podman reports "src:dst:rw,rprivate,rbind", whose mount options the
    SDK would read as part of the container path; keep only the access and SELinux-label options."""
    source, _, rest = entry.partition(":")
    destination, _, options = rest.partition(":")
    kept = [o for o in options.split(",") if o in BIND_OPTIONS]
    return ":".join([source, destination, *([",".join(kept)] if kept else [])])


def _restart_policy(host_config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    policy = host_config.get("RestartPolicy") or {}
    return policy if policy.get("Name") not in {None, "", "no"} else None


def _health(state: Mapping[str, Any]) -> str:
    """The health status, "none" when no healthcheck is declared (left out, "" or "none")."""
    status = str((state.get("Health") or {}).get("Status") or "")
    return status if status not in NO_HEALTHCHECK else "none"


def _image_name(container: Container) -> str:
    return str((container.attrs.get("Config") or {}).get("Image", ""))


def _cancelled(
    ref: str, target: DockerTarget, *, changed: bool, restored: bool = True, first: bool = False,
) -> RunResult:
    if not changed:
        summary = N_("Deploy of {ref} to {container} cancelled; nothing was changed")
    elif first:
        summary = (N_("Deploy of {ref} to {container} cancelled; the new container was removed") if restored
                   else N_("Deploy of {ref} to {container} cancelled and the new container could not be removed"))
    elif restored:
        summary = N_("Deploy of {ref} to {container} cancelled; the previous container is running again")
    else:
        summary = N_("Deploy of {ref} to {container} cancelled and the previous container could not be restored")
    return stopped(Cancelled(), "", Msg(summary, {"ref": ref, "container": target.container}))


def _failed(
    ref: str, target: DockerTarget, step: str, exc: BaseException, *, changed: bool, restored: bool = True,
    first: bool = False,
) -> RunResult:
    if not changed:
        summary = N_("Deploy of {ref} to {container} failed at step {step}; nothing was changed")
    elif first:
        summary = (N_("Deploy of {ref} to {container} failed at step {step}; the new container was removed")
                   if restored else
                   N_("Deploy of {ref} to {container} failed at step {step} and the new container could not be "
                      "removed"))
    elif restored:
        summary = N_("Deploy of {ref} to {container} failed at step {step}; the previous container is running again")
    else:
        summary = N_("Deploy of {ref} to {container} failed at step {step} and the previous container "
                     "could not be restored")
    return stopped(exc, step, Msg(summary, {"ref": ref, "container": target.container, "step": step}))
