"""A fake Jenkins: crumb issuer, ``buildWithParameters`` → queue item → build, stages, stop.

Requests other than the crumb need HTTP basic auth; POSTs need the crumb header. A build request
gets a queue item (``Location``); the item waits for one read, then leaves the queue with
``executable.number``. With ``forget_queue=True`` the item is forgotten as the build starts (404, as
Jenkins does after a while or when it merged identical requests), and the build must be found by
its ``queueId``. A build plays building (stage Build done, Deploy in progress) → ``result``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error
from tests.fakes.pipeline_data import sample

_BUILD = re.compile(r"/job/(?P<job>[^/]+)/(?P<number>\d+)/(?P<what>api/json|wfapi/describe|stop)")
_QUEUE = re.compile(r"/queue/item/(?P<id>\d+)/api/json")


class FakeJenkins(FakeApiServer):
    def __init__(self, user: str, token: str, job: str = "api-deploy", result: str | None = "SUCCESS",
                 forget_queue: bool = False) -> None:
        super().__init__()
        self.auth = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.job, self.result, self.forget_queue = job, result, forget_queue
        self.crumb = sample("jenkins_crumb")
        self.queue: dict[int, dict[str, Any]] = {}
        self.builds: dict[int, dict[str, Any]] = {}
        self.next_queue, self.next_build = 12, 7

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        if headers.get("authorization") != self.auth:
            return Reply(401, None, headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
        if method == "POST" and headers.get(self.crumb["crumbRequestField"].lower()) != self.crumb["crumb"]:
            return Reply(403, None)  # "No valid crumb was included in the request"
        return None

    def posts(self) -> list[tuple[str, str]]:
        return self.calls("POST")

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path == "/crumbIssuer/api/json":
            return Reply(200, self.crumb)
        if request.path == f"/job/{self.job}/buildWithParameters" and request.method == "POST":
            return self._enqueue()
        if request.path == f"/job/{self.job}/api/json":
            builds = [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": n,
                       "queueId": b["queue_id"], "url": self._build_url(n)} for n, b in sorted(self.builds.items())]
            return Reply(200, {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "builds": builds[::-1]})
        queue = _QUEUE.fullmatch(request.path)
        if queue is not None:
            return self._queue_item(int(queue["id"]))
        build = _BUILD.fullmatch(request.path)
        if build is None or build["job"] != self.job or int(build["number"]) not in self.builds:
            return error(404, "Not Found")
        return self._build(int(build["number"]), build["what"])

    def _enqueue(self) -> Reply:
        queue_id, self.next_queue = self.next_queue, self.next_queue + 1
        self.queue[queue_id] = {"reads": 0, "build": None}
        return Reply(201, None, headers={"Location": f"{self.url}/queue/item/{queue_id}/"})

    def _queue_item(self, queue_id: int) -> Reply:
        item = self.queue.get(queue_id)
        if item is None:
            return error(404, "Not Found")
        item["reads"] += 1
        if item["reads"] == 1:
            return Reply(200, {**sample("jenkins_queue_item_waiting"), "id": queue_id})
        if item["build"] is None:
            item["build"], self.next_build = self.next_build, self.next_build + 1
            self.builds[item["build"]] = {"queue_id": queue_id, "reads": 0, "result": None}
        if self.forget_queue:
            return error(404, "Not Found")
        body = sample("jenkins_queue_item_left")
        body.update(id=queue_id, executable={"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                                             "number": item["build"], "url": self._build_url(item["build"])})
        return Reply(200, body)

    def _build(self, number: int, what: str) -> Reply:
        build = self.builds[number]
        if what == "stop":
            build["result"] = "ABORTED"
            return Reply(302, None, headers={"Location": self._build_url(number)})
        if what == "wfapi/describe":
            describe = sample("jenkins_wfapi_describe")
            if build["result"] is not None:
                describe["stages"][1]["status"] = "SUCCESS" if build["result"] == "SUCCESS" else \
                    ("ABORTED" if build["result"] == "ABORTED" else "FAILED")
            return Reply(200, describe)
        build["reads"] += 1
        if build["reads"] >= 2 and build["result"] is None:  # a result of None: building until stopped
            build["result"] = self.result
        body = sample("jenkins_build")
        body.update(number=number, queueId=build["queue_id"], url=self._build_url(number),
                    building=build["result"] is None, inProgress=build["result"] is None, result=build["result"])
        return Reply(200, body)

    def _build_url(self, number: int) -> str:
        return f"{self.url}/job/{self.job}/{number}/"
