"""The Ansible runner, running real playbooks with ansible-core against localhost (connection=local)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from dihya.integrity import IntegrityError, Manifest, update_manifest
from dihya.runners.ansible_run import AnsibleRunner, count_tasks, localhost_inventory
from dihya.runners.base import Progress, RunnerError, RunResult

REPO_CONTENT = Path(__file__).resolve().parents[2] / "content"
DEPLOY_TASKS = ["check target", "write release", "record history", "health check"]


class CancelSwitch:
    """A CancelToken someone flips from another thread (here: the progress sink)."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self.flipped_at = 0.0

    def cancel(self) -> None:
        self.flipped_at = time.monotonic()
        self._flag.set()

    def cancelled(self) -> bool:
        return self._flag.is_set()


class Harness:
    def __init__(self, tmp_path: Path, content: Path) -> None:
        self.content = content
        self.data_dir = tmp_path / "data"
        self.work_dir = tmp_path / "runs"
        self.steps: list[Progress] = []
        self.cancel = CancelSwitch()
        self.runner = AnsibleRunner(content, self.work_dir, lambda: Manifest.load(content))

    def run(self, playbook: str, timeout_s: float = 60, inventory: Mapping[str, object] | None = None,
            run_id: str = "job-1", **extra_vars: str) -> RunResult:
        variables = {"data_dir": str(self.data_dir), "env": "staging", "version": "v1.2.3", **extra_vars}
        return self.runner.run(playbook, inventory or localhost_inventory(), variables, self.steps.append,
                               self.cancel, timeout_s, run_id)

    def release(self, env: str = "staging") -> Path:
        return self.data_dir / "deployed" / f"web-{env}.txt"

    def history(self) -> list[dict[str, str]]:
        lines = (self.data_dir / "deployed" / "history-web.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the shipped content directory, manifest included, that a test may tamper with."""
    return Path(shutil.copytree(REPO_CONTENT, tmp_path / "content"))


@pytest.fixture
def harness(tmp_path: Path, content: Path) -> Harness:
    return Harness(tmp_path, content)


def add_playbook(content: Path, name: str, tasks_yaml: str) -> None:
    header = "- hosts: all\n  connection: local\n  gather_facts: false\n  tasks:\n"
    (content / "playbooks" / name).write_text(header + tasks_yaml)
    update_manifest(content)


def test_deploy_writes_the_version_and_reports_one_step_per_task(harness: Harness) -> None:
    result = harness.run("deploy_web.yml", version="1.10")  # stays text: not the number 1.1

    assert result.ok, result
    assert harness.steps == [Progress(step=i, total=4, name=name) for i, name in enumerate(DEPLOY_TASKS, 1)]
    assert harness.release().read_text() == "1.10"
    assert [(h["action"], h["env"], h["version"]) for h in harness.history()] == [("deploy", "staging", "1.10")]
    assert result.summary.params == {"playbook": "deploy_web.yml", "tasks": 4}
    assert not (harness.work_dir / "job-1").exists()  # the private data dir is gone after the run


def test_rollback_restores_an_earlier_version(harness: Harness) -> None:
    harness.release("production").parent.mkdir(parents=True)
    harness.release("production").write_text("v2")

    result = harness.run("rollback_web.yml", env="production", version="v1")

    assert result.ok, result
    assert harness.release("production").read_text() == "v1"
    assert [(h["action"], h["version"], h["replaced"]) for h in harness.history()] == [("rollback", "v1", "v2")]


def test_a_playbook_changed_after_the_manifest_is_refused_and_nothing_runs(harness: Harness) -> None:
    playbook = harness.content / "playbooks" / "deploy_web.yml"
    playbook.write_text(playbook.read_text().replace("gather_facts: false", "gather_facts: false  # edited"))

    with pytest.raises(IntegrityError) as err:
        harness.run("deploy_web.yml")

    assert err.value.message.params == {"path": "playbooks/deploy_web.yml"}
    assert harness.steps == []
    assert not harness.release().exists()
    assert not (harness.work_dir / "job-1").exists()


def test_any_tampered_playbook_in_the_snapshot_refuses_the_run(harness: Harness) -> None:
    (harness.content / "playbooks" / "sleep_demo.yml").write_text("- hosts: all\n  tasks: []\n")

    with pytest.raises(IntegrityError):
        harness.run("deploy_web.yml")

    assert harness.steps == []
    assert not harness.release().exists()


def test_a_playbook_missing_from_the_manifest_is_refused(harness: Harness) -> None:
    (harness.content / "playbooks" / "extra.yml").write_text("- hosts: all\n  tasks: []\n")

    with pytest.raises(IntegrityError):
        harness.run("extra.yml")
    with pytest.raises(IntegrityError):
        harness.run("../manifest.json")


def test_injection_attempts_arrive_verbatim_and_no_shell_or_template_ran(harness: Harness, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    version = "\n".join([
        "; rm -rf / ; touch " + str(marker),
        "$(touch " + str(marker) + ") `touch " + str(marker) + "`",
        "{{ lookup('env','HOME') }}",
        "{{ lookup('pipe', 'touch " + str(marker) + "') }}",
        "{% raw %}x{% endraw %} --kubeconfig=/tmp/evil -e @/etc/passwd",
        "-rf",
    ])

    result = harness.run("deploy_web.yml", version=version)

    assert result.ok, result
    assert harness.release().read_text() == version  # not one character templated or interpreted
    assert harness.history()[0]["version"] == version
    assert not marker.exists()  # neither a shell nor the pipe lookup ever ran


def test_inventory_values_are_data_too(harness: Harness, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    note = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    localhost = {**localhost_inventory()["all"]["hosts"]["localhost"], "note": note}
    # Hosts in a child group, and the frozen shapes a store may hand over (tuples).
    web = {"hosts": {"localhost": localhost}}
    inventory = {"all": {"vars": {"owners": ("ops", "devops")}, "children": {"web": web}}}
    add_playbook(harness.content, "note.yml", """\
    - name: write note
      ansible.builtin.copy:
        content: "{{ note }} {{ owners | join(',') }}"
        dest: "{{ data_dir }}/note.txt"
        mode: "0600"
""")
    harness.data_dir.mkdir()

    result = harness.run("note.yml", inventory=inventory)

    assert result.ok, result
    assert (harness.data_dir / "note.txt").read_text() == note + " ops,devops"
    assert not marker.exists()


def test_ansible_settings_inherited_from_the_environment_do_not_apply(harness: Harness,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_STRATEGY", "dihya_no_such_strategy")  # would fail every play if inherited
    monkeypatch.setenv("ANSIBLE_CONFIG", str(harness.content / "missing.cfg"))
    add_playbook(harness.content, "hello.yml", "    - name: say hello\n      ansible.builtin.debug: {msg: hello}\n")

    result = harness.run("hello.yml")

    assert result.ok, result
    assert harness.steps == [Progress(step=1, total=1, name="say hello")]


def test_a_failing_task_is_named_with_a_short_excerpt(harness: Harness) -> None:
    add_playbook(harness.content, "fails.yml", """\
    - name: tolerated failure
      ansible.builtin.fail:
        msg: this one is ignored
      ignore_errors: true
    - name: break the disk
      ansible.builtin.fail:
        msg: disk full on /srv
    - name: never reached
      ansible.builtin.debug:
        msg: unreachable
""")

    result = harness.run("fails.yml")

    assert not result.ok
    assert not result.cancelled
    assert not result.timed_out
    assert result.failed_step == "break the disk"
    assert result.log_excerpt.splitlines()[-1].startswith("fatal: [localhost]: FAILED!")
    assert "disk full on /srv" in result.log_excerpt
    assert str(harness.work_dir) not in result.log_excerpt  # private paths are made relative
    assert len(result.log_excerpt) <= 1500
    assert [p.name for p in harness.steps] == ["tolerated failure", "break the disk"]


def test_cancel_from_another_thread_stops_the_playbook_quickly(harness: Harness) -> None:
    second_task_started = threading.Event()
    results: list[RunResult] = []

    def record(progress: Progress) -> None:
        harness.steps.append(progress)
        if progress.step == 2:
            second_task_started.set()

    worker = threading.Thread(target=lambda: results.append(harness.runner.run(
        "sleep_demo.yml", localhost_inventory(), {}, record, harness.cancel, 60, "job-cancel")))
    worker.start()
    assert second_task_started.wait(30)
    harness.cancel.cancel()
    worker.join(30)
    stopped_after = time.monotonic() - harness.cancel.flipped_at

    assert results[0].cancelled
    assert not results[0].ok
    assert stopped_after < 2.5
    assert max(p.step for p in harness.steps) <= 3
    assert harness.steps[0] == Progress(step=1, total=8, name="sleep 1 of 8")
    assert not (harness.work_dir / "job-cancel").exists()


def test_a_run_past_its_timeout_is_stopped(harness: Harness) -> None:
    started = time.monotonic()

    result = harness.run("sleep_demo.yml", timeout_s=2)

    assert result.timed_out
    assert not result.ok
    assert time.monotonic() - started < 6
    assert len(harness.steps) < 8


def test_a_run_id_left_behind_by_a_killed_attempt_is_not_run_twice(harness: Harness) -> None:
    (harness.work_dir / "job-7").mkdir(parents=True)

    with pytest.raises(RunnerError) as err:
        harness.run("deploy_web.yml", run_id="job-7")

    assert err.value.message.params == {"run_id": "job-7"}
    assert not harness.release().exists()


@pytest.mark.parametrize("name", ["ansible_connection", "ANSIBLE_become", "hostvars", "bad-name", "x y", "class"])
def test_extra_vars_that_could_steer_ansible_are_refused(harness: Harness, name: str) -> None:
    with pytest.raises(RunnerError) as err:
        harness.runner.run("deploy_web.yml", localhost_inventory(), {name: "x"}, harness.steps.append,
                           harness.cancel, 60, "job-1")

    assert err.value.message.params == {"name": name}
    assert not (harness.work_dir / "job-1").exists()


def test_an_inventory_without_hosts_is_refused(harness: Harness) -> None:
    with pytest.raises(RunnerError) as err:
        harness.run("deploy_web.yml", inventory={"all": {"vars": {"a": "b"}, "children": {"web": {"hosts": {}}}}})

    assert err.value.message.msgid == "No hosts to run {playbook} on"


@pytest.mark.parametrize("run_id", ["../escape", "", "-rf", "a/b"])
def test_run_ids_that_are_not_plain_names_are_refused(harness: Harness, run_id: str) -> None:
    with pytest.raises(RunnerError):
        harness.run("deploy_web.yml", run_id=run_id)


def test_count_tasks_estimates_the_steps_up_front(tmp_path: Path) -> None:
    playbook = tmp_path / "p.yml"
    playbook.write_text("""\
- hosts: all
  pre_tasks: [{name: a, debug: {msg: !unsafe "{{ x }}"}}]
  tasks:
    - block: [{name: b, debug: {}}, {name: c, debug: {}}]
      rescue: [{name: only on failure, debug: {}}]
      always: [{name: d, debug: {}}]
- hosts: all
  gather_facts: false
  tasks: [{name: e, debug: {}}]
""")

    assert count_tasks(playbook) == 6  # 1 fact gathering + a, b, c, d in play one; e in play two
    assert count_tasks(REPO_CONTENT / "playbooks" / "sleep_demo.yml") == 8
    assert count_tasks(tmp_path / "missing.yml") == 0
