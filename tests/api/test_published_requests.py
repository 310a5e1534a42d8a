"""Issue 13, acceptance 1 as written: the published request bodies, sent to ``dihya serve`` on the
embedded default (demo catalog and content, a fresh data directory) with tokens printed by
``dihya token create``. The chat side of an approval (the request posted in the channel, a ✅
reaction) is tested in-process in test_deploy_api.py; here the vote is cast over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.servers.dihya_serve import Served, console, dihya_serve

pytestmark = pytest.mark.slow
DEPLOY = {"service": "backend-django", "environnement": "production", "version": "v1.2.3"}
SCRIPT = {"nom": "deploy_app.yml", "cible": "all"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(served: Served, location: str, token: str) -> list[tuple[str, dict[str, object]]]:
    """The job's server-sent events, read until the stream ends with the job."""
    with httpx.stream("GET", f"{served.root}{location}/events", headers=bearer(token), timeout=180) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def finished(served: Served, location: str, token: str) -> dict[str, object]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job: dict[str, object] = httpx.get(f"{served.root}{location}", headers=bearer(token), timeout=10).json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"{location} did not finish")


def test_the_published_requests_on_the_embedded_default(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    console(data, "role grant dev1 developer\nrole grant devops1 devops\nrole grant devops2 devops\n")
    with dihya_serve(data, DIHYA_API_CHANNEL="console:main") as served:
        dev, devops, devops2, admin = (served.token(f"console:{n}") for n in ("dev1", "devops1", "devops2", "admin1"))

        # staging: 202 with the job's Location; the event stream shows each step; the job succeeds
        staging = httpx.post(f"{served.api}/deploiements/", headers=bearer(dev), timeout=30,
                             json={**DEPLOY, "environnement": "staging"})
        assert staging.status_code == 202, staging.text
        assert staging.json()["status"] == "job" and staging.headers["Location"].startswith("/api/it_devops/jobs/")
        stream = events(served, staging.headers["Location"], dev)
        progress = [d for e, d in stream if e == "progress"]
        assert stream[-1][0] == "end" and progress[-1]["state"] == "succeeded"
        total = progress[-1]["total"]
        assert isinstance(total, int) and total > 1
        assert sorted({d["step"] for d in progress if d["state"] == "running" and d["step"]}) == \
            list(range(1, total + 1))
        assert (data / "deployed" / "backend-django-staging.txt").read_text() == "v1.2.3"

        # production, exactly as published: 202, pending approval; nothing runs yet
        production = httpx.post(f"{served.api}/deploiements/", headers=bearer(dev), json=DEPLOY, timeout=30)
        assert production.status_code == 202, production.text
        approval = production.headers["Location"]
        assert production.json()["status"] == "approval" and approval.startswith("/api/it_devops/approbations/")
        approval_id = production.json()["id"]
        pending = httpx.get(f"{served.api}/approbations/", headers=bearer(devops), timeout=10).json()["items"]
        assert [(a["id"], a["args"]["service"], a["args"]["env"]) for a in pending] == \
            [(approval_id, "backend-django", "production")]
        own = httpx.post(f"{served.api}/approbations/{approval_id}/votes", headers={
            **bearer(dev), "Accept-Language": "ar"}, json={"decision": "approve"}, timeout=10)
        assert own.status_code == 403 and own.headers["content-type"] == "application/problem+json"
        assert own.json()["detail"] == "لا يمكنك الموافقة على طلبك بنفسك."
        assert not (data / "deployed" / "backend-django-production.txt").exists()

        # another devops's vote over HTTP runs it, once
        vote = httpx.post(f"{served.api}/approbations/{approval_id}/votes", headers=bearer(devops),
                          json={"decision": "approve"}, timeout=30)
        assert vote.status_code == 200 and vote.json() == {"id": approval_id, "state": "dispatched"}, vote.text
        late = httpx.post(f"{served.api}/approbations/{approval_id}/votes", headers=bearer(devops2),
                          json={"decision": "approve"}, timeout=30)
        assert late.status_code == 403
        second_job = f"/api/it_devops/jobs/{staging.json()['id'] + 1}"
        assert finished(served, second_job, devops)["state"] == "succeeded"
        assert (data / "deployed" / "backend-django-production.txt").read_text() == "v1.2.3"
        after = httpx.get(f"{served.root}/api/it_devops/jobs/{staging.json()['id'] + 2}", headers=bearer(devops),
                          timeout=10)
        assert after.status_code == 404  # the approval ran one job, not two

        # scripts/, exactly as published: the demo playbook on every server of the demo inventory
        script = httpx.post(f"{served.api}/scripts/", headers=bearer(admin), json=SCRIPT, timeout=30)
        assert script.status_code == 202 and script.json()["status"] == "approval", script.text  # ops.run: one devops
        vote = httpx.post(f"{served.root}{script.headers['Location']}/votes", headers=bearer(devops),
                          json={"decision": "approve"}, timeout=30)
        assert vote.json()["state"] == "dispatched", vote.text
        job = f"/api/it_devops/jobs/{staging.json()['id'] + 2}"
        assert finished(served, job, admin)["state"] == "succeeded"
        inventory = httpx.get(f"{served.api}/inventaire/", headers=bearer(admin), timeout=10).json()
    # the embedded default's server 1 (monitoring/?serveur_id=1), on which deploy_app.yml ran for "all"
    assert inventory["_meta"]["hostvars"] == {"localhost": {"ansible_host": "127.0.0.1"}}
    assert (data / "deployed" / "app-localhost.txt").read_text() == "latest"
