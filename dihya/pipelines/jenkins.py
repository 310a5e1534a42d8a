"""Jenkins: ``buildWithParameters`` → queue item (``Location``) → build number → build and stages.

Jenkins answers a build request with a queue item; the build exists only once an executor takes it
(``executable.number``). Queue items are forgotten a few minutes after they leave the queue, and
identical queued requests may be merged into one, so a 404 on the queue item is not a failure by
itself: the build is then found by its ``queueId`` in the job's build list. A CSRF crumb is sent
when the server issues one (``/crumbIssuer`` answers 404 where protection is off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from bot.i18n import N_, Msg
from bot.pipelines import PipelineSpec, Stage
from dihya.pipelines.http import ApiClient, json_object
from dihya.pipelines.port import ProviderError, RunHandle, RunStatus

_RESULTS: Mapping[str, str] = {"SUCCESS": "success", "ABORTED": "cancelled"}
_STAGES: Mapping[str, str] = {"SUCCESS": "success", "FAILED": "failed", "UNSTABLE": "failed", "ABORTED": "cancelled",
                              "IN_PROGRESS": "running", "NOT_EXECUTED": "skipped", "PAUSED_PENDING_INPUT": "running"}
LOST_AFTER = 30  # status reads of a vanished queue item whose build cannot be found, then it is lost


def job_path(project: str) -> str:
    """``folder/app`` → ``/job/folder/job/app``."""
    return "".join(f"/job/{quote(part, safe='')}" for part in project.strip("/").split("/"))


class Jenkins:
    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self._crumb: dict[str, str] | None = None
        self._vanished: dict[str, int] = {}

    def close(self) -> None:
        self._api.close()

    def trigger(self, spec: PipelineSpec, ref: str, params: Mapping[str, str],
                correlation: str) -> RunHandle:  # noqa: ARG002 - the queue item identifies the build
        form = {**({spec.options["ref_parameter"]: ref} if spec.options.get("ref_parameter") else {}), **params}
        response = self._api.send("POST", f"{job_path(spec.project)}/buildWithParameters", data=form,
                                  headers=self._crumb_header(), expect=frozenset({201}), what="build request")
        location = response.headers.get("location", "")
        if "/queue/item/" not in location:
            raise ProviderError(Msg(N_("{provider} sent an answer Dihya does not understand."),
                                    {"provider": "Jenkins"}))
        return RunHandle(queue_url=urlsplit(location).path)

    def status(self, spec: PipelineSpec, handle: RunHandle) -> RunStatus:
        if not handle.run_id:
            found = self._from_queue(spec, handle)
            if found is None:
                return RunStatus(handle, "queued", "queued")
            if isinstance(found, RunStatus):
                return found
            handle = found
        base = f"{job_path(spec.project)}/{quote(handle.run_id, safe='')}"
        build = json_object(self._api.send("GET", f"{base}/api/json", what="build"), "Jenkins")
        url = str(build.get("url") or handle.url)
        if build.get("building") or build.get("result") is None:
            state, word = "running", "building"
        else:
            word = str(build["result"])
            state = _RESULTS.get(word, "failed")
        return RunStatus(RunHandle(handle.run_id, url, handle.queue_url), state, word, self._stages(base))

    def _from_queue(self, spec: PipelineSpec, handle: RunHandle) -> RunHandle | RunStatus | None:
        response = self._api.send("GET", f"{handle.queue_url.rstrip('/')}/api/json", expect=frozenset({200, 404}),
                                  what="queue item")
        if response.status_code == 404:
            return self._by_queue_id(spec, handle)
        item = json_object(response, "Jenkins")
        if item.get("cancelled"):
            return RunStatus(handle, "cancelled", "cancelled")
        executable = item.get("executable")
        if isinstance(executable, dict) and executable.get("number") is not None:
            return RunHandle(str(executable["number"]), str(executable.get("url") or ""), handle.queue_url)
        return None

    def _by_queue_id(self, spec: PipelineSpec, handle: RunHandle) -> RunHandle | RunStatus | None:
        """A forgotten or merged queue item: its build is the one that names it as its ``queueId``."""
        queue_id = handle.queue_url.rstrip("/").rsplit("/", 1)[-1]
        listed = json_object(self._api.send("GET", f"{job_path(spec.project)}/api/json",
                                            params={"tree": "builds[number,queueId,url]"}, what="builds"), "Jenkins")
        for build in listed.get("builds") or []:
            if str(build.get("queueId")) == queue_id:
                return RunHandle(str(build["number"]), str(build.get("url") or ""), handle.queue_url)
        misses = self._vanished[queue_id] = self._vanished.get(queue_id, 0) + 1
        if misses >= LOST_AFTER:
            raise ProviderError(Msg(N_("Jenkins forgot queue item {item} and no build of {pipeline} names it."),
                                    {"item": queue_id, "pipeline": spec.name}))
        return None

    def _stages(self, base: str) -> tuple[Stage, ...]:
        """Pipeline jobs describe their stages (``wfapi``); freestyle jobs have none (404)."""
        response = self._api.send("GET", f"{base}/wfapi/describe", expect=frozenset({200, 404}), what="stages")
        if response.status_code == 404:
            return ()
        return tuple(_stage(s) for s in json_object(response, "Jenkins").get("stages") or [] if isinstance(s, dict))

    def cancel(self, spec: PipelineSpec, handle: RunHandle) -> None:
        if handle.run_id:
            self._api.send("POST", f"{job_path(spec.project)}/{quote(handle.run_id, safe='')}/stop",
                           headers=self._crumb_header(), expect=frozenset({200, 302}), what="stop")
            return
        queue_id = handle.queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._api.send("POST", "/queue/cancelItem", params={"id": queue_id}, headers=self._crumb_header(),
                       expect=frozenset({200, 204, 302}), what="cancel queue item")

    def retry(self, spec: PipelineSpec, handle: RunHandle,  # noqa: ARG002 - a rebuild is a new build
              ref: str, params: Mapping[str, str]) -> RunHandle:
        """Jenkins has no re-run in its API (the Rebuild plugin's page is for people): the same
        ``buildWithParameters`` with the same parameters, followed from its queue item."""
        return self.trigger(spec, ref, params, "")

    def _crumb_header(self) -> dict[str, str]:
        if self._crumb is None:
            response = self._api.send("GET", "/crumbIssuer/api/json", expect=frozenset({200, 404}), what="crumb")
            found: dict[str, Any] = json_object(response, "Jenkins") if response.status_code == 200 else {}
            self._crumb = {str(found["crumbRequestField"]): str(found["crumb"])} if found.get("crumb") else {}
        return self._crumb


def _stage(stage: Mapping[str, Any]) -> Stage:
    status = str(stage.get("status") or "")
    return Stage(str(stage.get("name") or "?"), _STAGES.get(status, "queued"), status)
