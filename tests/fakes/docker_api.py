"""A fake Docker Engine API: the endpoints docker-py calls to pull, inspect, create and replace containers.

State lives in memory: a "registry" of images that a pull can fetch, the local image store, and
containers whose health moves from ``starting`` to a verdict after a few inspections.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections.abc import Callable
from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error

API_VERSION = "1.45"
_VERSIONED = re.compile(r"^/v[0-9.]+(/.*)$")
HEALTHCHECK = {"Test": ["CMD", "/healthz"], "Interval": 1_000_000_000}


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class FakeDockerEngine(FakeApiServer):
    """Docker Engine API v1.45, as far as ``DockerDeployer`` uses it."""

    def __init__(self) -> None:
        super().__init__()
        self.registry: dict[str, dict[str, Any]] = {}  # "repo:tag" -> image a pull would fetch
        self.images: dict[str, dict[str, Any]] = {}  # image id -> inspect attrs
        self.containers: dict[str, dict[str, Any]] = {}  # container id -> inspect attrs
        self.verdicts: dict[str, str] = {}  # image id -> health after start: healthy|unhealthy|starting|exited
        self.checks_before_verdict = 2  # inspections a started container spends in "starting"
        self.start_errors: dict[str, str] = {}  # image id -> why its containers fail to start
        # Health.Status of a container without healthcheck: None leaves Health out; Docker may say "none"
        self.no_healthcheck_status: str | None = None
        self._inspections: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/version"), self._version),
            ("POST", re.compile(r"/images/create"), self._pull),
            ("GET", re.compile(r"/images/(?P<name>.+)/json"), self._inspect_image),
            ("POST", re.compile(r"/containers/create"), self._create),
            ("GET", re.compile(r"/containers/(?P<ref>[^/]+)/json"), self._inspect_container),
            ("POST", re.compile(r"/containers/(?P<ref>[^/]+)/start"), self._start),
            ("POST", re.compile(r"/containers/(?P<ref>[^/]+)/stop"), self._stop),
            ("POST", re.compile(r"/containers/(?P<ref>[^/]+)/restart"), self._restart),
            ("POST", re.compile(r"/containers/(?P<ref>[^/]+)/rename"), self._rename),
            ("DELETE", re.compile(r"/containers/(?P<ref>[^/]+)"), self._remove),
        ]

    # -- setting the scene -------------------------------------------------------------------

    def publish(self, ref: str, digest: str | None = None, *, healthcheck: bool = True,
                verdict: str = "healthy", start_error: str = "", env: list[str] | None = None,
                labels: dict[str, str] | None = None) -> str:
        """Put an image in the registry; returns its digest."""
        digest = digest or digest_of(ref)
        repository = ref.rpartition(":")[0]
        image_id = digest_of(f"config:{ref}:{digest}")
        self.registry[ref] = {
            "Id": image_id, "RepoTags": [ref], "RepoDigests": [f"{repository}@{digest}"],
            "Config": {"Env": env or ["PATH=/usr/bin", f"APP_VERSION={ref}"], "Labels": labels or {},
                       "Healthcheck": HEALTHCHECK if healthcheck else None},
        }
        self.verdicts[image_id] = verdict
        if start_error:
            self.start_errors[image_id] = start_error
        return digest

    def load(self, ref: str, digest: str | None = None, **options: Any) -> str:
        """Publish and pull an image, as if it had been deployed before; returns its image id."""
        self.publish(ref, digest, **options)
        self._store(copy.deepcopy(self.registry[ref]))
        return str(self.registry[ref]["Id"])

    def run_container(self, name: str, image_ref: str, *, env: list[str] | None = None,
                      labels: dict[str, str] | None = None, port_bindings: dict[str, Any] | None = None,
                      binds: list[str] | None = None) -> str:
        """Create and start a container directly (not through the API); returns its id."""
        body = {"Image": image_ref, "Env": env or [], "Labels": labels or {},
                "HostConfig": {"PortBindings": port_bindings or {}, "Binds": binds,
                               "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}}}
        container = self._new_container(name, self._resolve_image(image_ref) or {}, body)
        container["State"] = {"Status": "running", "Running": True,
                              **({"Health": {"Status": "healthy"}} if container["Config"]["Healthcheck"] else {})}
        return str(container["Id"])

    def container(self, ref: str) -> dict[str, Any] | None:
        with self.lock:
            return self._find_container(ref)

    def mutations(self) -> list[tuple[str, str]]:
        """Requests that change containers (create, start, stop, rename, remove)."""
        return [(m, p) for m, p in self.calls() if m in {"POST", "DELETE"} and "/containers/" in p]

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        versioned = _VERSIONED.match(request.path)
        path = versioned.group(1) if versioned else request.path
        for method, pattern, endpoint in self._routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                return endpoint(request, **match.groupdict())
        return error(404, f"page not found: {request.method} {path}")

    def _version(self, request: RecordedRequest) -> Reply:
        return Reply(200, {"ApiVersion": API_VERSION, "MinAPIVersion": "1.24", "Version": "26.1.0", "Os": "linux"})

    def _pull(self, request: RecordedRequest) -> Reply:
        ref = f"{request.query.get('fromImage', '')}:{request.query.get('tag', 'latest')}"
        image = self.registry.get(ref)
        if image is None:
            return Reply(200, stream=[{"status": f"Pulling from {ref}"},
                                      {"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}])
        self._store(copy.deepcopy(image))
        digest = image["RepoDigests"][0].partition("@")[2]
        return Reply(200, stream=[{"status": f"Pulling from {ref}"}, {"status": f"Digest: {digest}"},
                                  {"status": f"Status: Downloaded newer image for {ref}"}])

    def _inspect_image(self, request: RecordedRequest, name: str) -> Reply:
        image = self._resolve_image(name)
        return Reply(200, image) if image else error(404, f"No such image: {name}")

    def _create(self, request: RecordedRequest) -> Reply:
        name = request.query.get("name", "")
        if name and self._find_container(name):
            return error(409, f'Conflict. The container name "/{name}" is already in use')
        image = self._resolve_image(request.body["Image"])
        if image is None:
            return error(404, f"No such image: {request.body['Image']}")
        container = self._new_container(name, image, request.body)
        return Reply(201, {"Id": container["Id"], "Warnings": []})

    def _inspect_container(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        if container is None:
            return error(404, f"No such container: {ref}")
        self._advance_health(container)
        return Reply(200, container)

    def _start(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        if container is None:
            return error(404, f"No such container: {ref}")
        if container["State"]["Running"]:
            return Reply(304)
        if container["Image"] in self.start_errors:
            return error(500, self.start_errors[container["Image"]])
        container["State"] = {"Status": "running", "Running": True}
        if container["Config"].get("Healthcheck"):
            container["State"]["Health"] = {"Status": "starting"}
        elif self.no_healthcheck_status is not None:
            container["State"]["Health"] = {"Status": self.no_healthcheck_status}
        self._inspections[container["Id"]] = 0
        return Reply(204)

    def _stop(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        if container is None:
            return error(404, f"No such container: {ref}")
        if not container["State"]["Running"]:
            return Reply(304)
        container["State"] = {"Status": "exited", "Running": False, "ExitCode": 0}
        return Reply(204)

    def _restart(self, request: RecordedRequest, ref: str) -> Reply:
        stopped = self._stop(request, ref)
        if stopped.status == 404:
            return stopped
        started = self._start(request, ref)
        return started if started.status >= 400 else Reply(204)

    def _rename(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        new_name = request.query.get("name", "")
        if container is None:
            return error(404, f"No such container: {ref}")
        if self._find_container(new_name):
            return error(409, f'Conflict. The container name "/{new_name}" is already in use')
        container["Name"] = f"/{new_name}"
        return Reply(204)

    def _remove(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        if container is None:
            return error(404, f"No such container: {ref}")
        if container["State"]["Running"] and request.query.get("force") not in {"True", "true", "1"}:
            return error(409, "You cannot remove a running container. Stop the container before removing")
        del self.containers[container["Id"]]
        return Reply(204)

    # -- state --------------------------------------------------------------------------------

    def _store(self, image: dict[str, Any]) -> None:
        for other in self.images.values():  # a tag points at one image: pulling moves it
            other["RepoTags"] = [t for t in other["RepoTags"] if t not in image["RepoTags"]]
        self.images[image["Id"]] = image

    def _resolve_image(self, ref: str) -> dict[str, Any] | None:
        for image in self.images.values():
            if ref == image["Id"] or ref in image["RepoTags"] or ref in image["RepoDigests"]:
                return image
        return None

    def _find_container(self, ref: str) -> dict[str, Any] | None:
        for container in self.containers.values():
            short_id = len(ref) >= 12 and container["Id"].startswith(ref)
            if short_id or ref in {container["Name"].lstrip("/"), container["Id"]}:
                return container
        return None

    def _new_container(self, name: str, image: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        container_id = hashlib.sha256(f"container-{next(self._ids)}".encode()).hexdigest()
        image_config = image.get("Config") or {}
        container = {
            "Id": container_id, "Name": f"/{name}", "Image": image.get("Id", ""),
            "Config": {"Image": body["Image"], "Env": _merged_env(image_config.get("Env") or [], body.get("Env") or []),
                       "Labels": {**(image_config.get("Labels") or {}), **(body.get("Labels") or {})},
                       "ExposedPorts": body.get("ExposedPorts") or {}, "Healthcheck": image_config.get("Healthcheck")},
            "HostConfig": body.get("HostConfig") or {},
            "State": {"Status": "created", "Running": False},
        }
        self.containers[container_id] = container
        return container

    def _advance_health(self, container: dict[str, Any]) -> None:
        state = container["State"]
        if not state.get("Running"):
            return
        seen = self._inspections[container["Id"]] = self._inspections.get(container["Id"], 0) + 1
        verdict = self.verdicts.get(container["Image"], "healthy")
        if seen <= self.checks_before_verdict or verdict == "starting":
            return
        if verdict == "exited":
            container["State"] = {"Status": "exited", "Running": False, "ExitCode": 1}
        elif container["Config"].get("Healthcheck"):
            state["Health"] = {"Status": verdict}


def _merged_env(image_env: list[str], container_env: list[str]) -> list[str]:
    merged = {entry.partition("=")[0]: entry for entry in image_env}
    merged.update({entry.partition("=")[0]: entry for entry in container_env})
    return list(merged.values())
