"""Fault 3 (issue 16): the bot is killed with SIGKILL at 20 seeded points of an approval flow
(request, vote, job start, mid-job: with the local queue the bot is also the worker, so a kill
mid-job kills the worker too), and started again each time on the same database. At the end:
every job has the approval request it came from (dispatched) and an outcome row in the audit log
(``job:succeeded``, or ``job:failed`` when its run was lost with the process and the sweep found it
dead); a request approved by a process killed before it ran is closed as not run ("interrupted"
row, thread told) rather than left approved; no request was dispatched twice, no job ran twice,
and the audit chain is whole.
The Celery worker killed mid-job is ``tests/jobs/test_celery.py::test_killed_worker_fails_the_job_
and_a_redelivery_does_not_rerun_it``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.audit import verify
from bot.jobs import TERMINAL
from dihya.store.engine import make_engine, upgrade
from dihya.store.sql import SqlStore
from tests.jobs.helpers import content_copy

pytestmark = pytest.mark.faults
SEED = 16
POINTS = 20


class Console:
    """``dihya console --json`` on the test's database, fed line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        dihya = Path(sys.executable).with_name("dihya")
        self.process = subprocess.Popen([str(dihya), "console", "--json"], env={**os.environ, **env},
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True, text=True, bufsize=1)

    def send(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(f"{line}\n" for line in lines))
        self.process.stdin.flush()

    def ready(self) -> None:
        """Wait for its answer to ``ping``: the app is built and reading."""
        self.send("ping")
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if json.loads(line).get("text") == "pong":
                return
        raise AssertionError("the console exited before answering ping")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the ansible-playbook of a running job dies too
        self.process.wait(10)

    def finish(self, timeout: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # end of input: the console drains its jobs and exits
        self.process.wait(timeout)


def test_sigkill_at_twenty_seeded_points_of_an_approval_flow_loses_nothing(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'dihya.sqlite3'}"
    config = tmp_path / "dihya.toml"  # a service per flow: one production change per service at a time
    config.write_text("".join(f'[services.web{n}.production]\nrunner = "ansible"\nplaybook = "deploy_web.yml"\n'
                              for n in range(POINTS)))
    env = {"DIHYA_CONFIG_FILE": str(config),"DIHYA_DATABASE_URL": database, "DIHYA_DATA_DIR": str(tmp_path),
           "DIHYA_CONTENT_DIR": str(content_copy(tmp_path)), "DIHYA_ADMINS": "console:admin1",
           "DIHYA_RATE_LIMIT_PER_MINUTE": "0", "DIHYA_JOB_STALE_SECONDS": "2", "DIHYA_JOB_SWEEP_SECONDS": "0.5",
           "DIHYA_LOG_FILE": str(tmp_path / "bot.log"), "LANGUAGE": "en"}
    engine = make_engine(database)
    upgrade(engine)
    store = SqlStore(engine)
    store.grant_role("console:dev1", "developer")
    store.grant_role("console:devops1", "devops")

    rng = random.Random(SEED)
    for point in range(POINTS):
        console = Console(env)
        console.ready()
        console.send("/as dev1", f"deploy web{point} to production version v{point}.0.0", "/as devops1", "/react ✅")
        time.sleep(rng.uniform(0.0, 2.0))  # somewhere in the request, the vote, the job's start or its run
        console.kill()
    last = Console(env)
    last.ready()
    time.sleep(4)  # the sweep finds the jobs whose run died with a process; queued ones are resumed
    last.finish(timeout=120)

    jobs = store.jobs(limit=1000)
    assert jobs, "no flow got as far as a job: the kill points are all too early"
    assert all(job.state in TERMINAL for job in jobs), [(j.id, j.state) for j in jobs]
    requests = [store.approval(n) for n in range(1, POINTS + 1)]
    dispatched = Counter(str(r.draft.args["service"]) for r in requests if r is not None and r.state == "dispatched")
    ran = Counter(str(job.draft.args["service"]) for job in jobs)
    assert ran == dispatched  # every job has its dispatched request, and no request made two jobs
    records = list(store.audit_records())
    actions = Counter((r.draft.action, r.draft.ref) for r in records)
    for job in jobs:
        assert actions[("job:running", job.key)] <= 1, job  # nothing ran twice
        assert actions[(f"job:{job.state}", job.key)] == 1, job  # its outcome is on record, once
    assert not [r for r in requests if r is not None and r.state == "approved"]  # approved, then killed: closed
    interrupted = {r.draft.ref for r in records if r.draft.outcome == "interrupted"}
    assert interrupted == {f"approval:{r.id}" for r in requests if r is not None and r.state == "refused"}
    assert verify(records, store.audit_head()).ok
    engine.dispose()
