"""Ansible runner: ansible-runner over ansible-core, one progress step per task.

Every run gets a private data directory ``work_dir/<run_id>`` holding a verified snapshot of the
playbooks, the inventory, the extra vars and a config file of its own. Extra vars and inventory
values are written as YAML tagged ``!unsafe``, so Ansible treats them as data and never evaluates
a ``{{ ... }}`` a user typed. The child's environment drops every inherited ``ANSIBLE_*`` variable
so the host's settings cannot change how those values are handled. Nothing goes through a shell:
ansible-runner spawns ``ansible-playbook`` with an argument list built from paths we wrote.

A finished run removes its directory. A directory left behind means an earlier attempt with the
same run id was killed mid-run; the runner refuses to start it again rather than run twice.
"""

from __future__ import annotations

import keyword
import logging
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from ansible_runner.config.runner import RunnerConfig
from ansible_runner.runner import Runner
from ansible_runner.utils import get_callback_dir

from bot.i18n import N_, Msg
from dihya.integrity import Manifest
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult
from dihya.runners.inventory import localhost_inventory

__all__ = ["AnsibleRunner", "Bundle", "BundledRun", "ManifestLoader", "count_tasks", "localhost_inventory"]

log = logging.getLogger(__name__)

PLAYBOOKS_DIR = "playbooks"
# How often ansible-runner's loop wakes up to ask the cancel token and check the timeout.
_POLL_SECONDS = 0.2
_EXCERPT_LINES = 12
_EXCERPT_CHARS = 1500
_STDOUT_TAIL_BYTES = 16_384
_MAX_EVENT_RES = 8 * 1024 * 1024
_LOG_BYTES = 131_072  # the end of the run's output, kept with the job (``job log N``)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Names whose override would change how or where Ansible connects, or shadow its magic variables
# (extra vars have the highest precedence of all).
_RESERVED_VARS = frozenset({"hostvars", "groups", "group_names", "inventory_hostname", "inventory_dir",
                            "playbook_dir", "role_path", "omit", "environment", "vars"})
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TASK_STARTS = frozenset({"playbook_on_task_start", "playbook_on_handler_task_start"})
_TASK_FAILURES = frozenset({"runner_on_failed", "runner_on_unreachable"})
_TASK_RESULTS = frozenset({"runner_on_ok", "runner_on_failed"})

ManifestLoader = Callable[[], Manifest]  # loaded afresh for every run, so updates apply at once


@dataclass(frozen=True, slots=True)
class Bundle:
    """One of Dihya's own playbooks and what it needs beside it in the project directory."""

    folder: Path  # copied whole: the playbook, its library/ and module_utils/
    playbook: str
    label: str  # how the run is named in messages
    content: Mapping[str, str] = field(default_factory=dict)  # manifest key → path in the project (verified)
    code: Mapping[str, Path] = field(default_factory=dict)  # path in the project → a file of Dihya's code
    collect: str | None = None  # the task whose per-host results come back


@dataclass(frozen=True, slots=True)
class BundledRun:
    result: RunResult  # the run as a whole (unreachable hosts, timeout, cancel)
    results: Mapping[str, Mapping[str, Any]]  # host → the collected task's result


class AnsibleRunner:
    """Runs a playbook listed in the integrity manifest of ``content_root``."""

    __slots__ = ("_content_root", "_load_manifest", "_work_dir")

    def __init__(self, content_root: Path, work_dir: Path, manifest_loader: ManifestLoader) -> None:
        self._content_root = content_root
        self._work_dir = work_dir
        self._load_manifest = manifest_loader

    def run(self, playbook: str, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
            progress: ProgressSink, cancel: CancelToken, timeout_s: float, run_id: str) -> RunResult:
        """Verify, then run; raise RunnerError (IntegrityError included) when the run is refused."""
        _check_run_id(run_id)
        _check_extra_vars(extra_vars)
        _check_timeout(timeout_s)
        if not _has_hosts(inventory):  # Ansible would skip every play and report success
            raise RunnerError(Msg(N_("No hosts to run {playbook} on"), {"playbook": playbook}))
        manifest = self._load_manifest()
        manifest.verify(self._content_root, f"{PLAYBOOKS_DIR}/{playbook}")
        private_dir = self._claim(run_id)
        try:
            project_playbook = _snapshot_playbooks(manifest, self._content_root, private_dir, playbook)
            _write_inputs(private_dir, inventory, extra_vars)
            if cancel.cancelled():
                return _cancelled(playbook, "")
            return _execute(project_playbook, playbook, private_dir, run_id, progress, cancel, timeout_s)
        finally:
            shutil.rmtree(private_dir, ignore_errors=True)

    def run_bundled(self, bundle: Bundle, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
                    progress: ProgressSink, cancel: CancelToken, timeout_s: float, run_id: str) -> BundledRun:
        """Run one of Dihya's own playbooks (``bundle.folder``: playbook, ``library/``, ``module_utils/``)
        with operator files copied in verified against the manifest; the results of the task named
        ``bundle.collect`` come back per host."""
        _check_run_id(run_id)
        _check_extra_vars(extra_vars)
        _check_timeout(timeout_s)
        if not _has_hosts(inventory):
            raise RunnerError(Msg(N_("No hosts to run {playbook} on"), {"playbook": bundle.label}))
        manifest = self._load_manifest()
        private_dir = self._claim(run_id)
        try:
            project = private_dir / "project"
            shutil.copytree(bundle.folder, project)
            for key, dest in bundle.content.items():
                manifest.copy_verified(self._content_root, key, project / dest)
            for dest, source in bundle.code.items():
                (project / dest).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, project / dest)
            _write_inputs(private_dir, inventory, extra_vars)
            if cancel.cancelled():
                return BundledRun(_cancelled(bundle.label, ""), {})
            tracker = _TaskTracker(total=count_tasks(project / bundle.playbook), sink=progress, collect=bundle.collect)
            result = _execute(project / bundle.playbook, bundle.label, private_dir, run_id, progress, cancel,
                              timeout_s, tracker)
            return BundledRun(result, dict(tracker.results))
        finally:
            shutil.rmtree(private_dir, ignore_errors=True)

    def _claim(self, run_id: str) -> Path:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        private_dir = self._work_dir / run_id
        try:
            private_dir.mkdir(mode=0o700)
        except FileExistsError:
            raise RunnerError(Msg(N_("Run {run_id} was already started and interrupted; it will not run twice"),
                                  {"run_id": run_id})) from None
        return private_dir


def count_tasks(playbook_path: Path) -> int:
    """Best estimate of the task starts a playbook will report (roles and includes may add more)."""
    try:
        plays = yaml.load(playbook_path.read_text(encoding="utf-8"), Loader=_TolerantLoader)  # noqa: S506
    except (OSError, yaml.YAMLError):
        return 0
    if not isinstance(plays, list):
        return 0
    return sum(_play_tasks(play) for play in plays if isinstance(play, dict))


# --- checks -------------------------------------------------------------------------------------


def _check_run_id(run_id: str) -> None:
    if not _RUN_ID.match(run_id):
        raise RunnerError(Msg(N_("Invalid run id {run_id}"), {"run_id": run_id}))


def _check_extra_vars(extra_vars: Mapping[str, str]) -> None:
    for name, value in extra_vars.items():
        if (not isinstance(name, str) or not _VAR_NAME.match(name) or keyword.iskeyword(name)
                or name.lower().startswith("ansible_") or name in _RESERVED_VARS):
            raise RunnerError(Msg(N_("Invalid playbook variable name {name}"), {"name": name}))
        if not isinstance(value, str):
            raise RunnerError(Msg(N_("Playbook variable {name} must be text"), {"name": name}))


def _check_timeout(timeout_s: float) -> None:
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise RunnerError(Msg(N_("Invalid timeout {seconds} s"), {"seconds": timeout_s}))


def _has_hosts(groups: Mapping[str, Any]) -> bool:
    """Whether any group of a YAML-structured inventory (``{group: {hosts, children, vars}}``) lists a host."""
    for value in groups.values():
        if not isinstance(value, Mapping):
            continue
        if value.get("hosts") or _has_hosts(value.get("children") or {}):
            return True
    return False


# --- private data directory ---------------------------------------------------------------------


def _snapshot_playbooks(manifest: Manifest, content_root: Path, private_dir: Path, playbook: str) -> Path:
    """Copy every listed playbook file into the project dir, hashing what is copied; run only that."""
    project = private_dir / "project"
    for relative in manifest.listed_under(PLAYBOOKS_DIR):
        manifest.copy_verified(content_root, relative, project / relative)
    return project / PLAYBOOKS_DIR / playbook


def _write_inputs(private_dir: Path, inventory: Mapping[str, Any], extra_vars: Mapping[str, str]) -> None:
    (private_dir / "env").mkdir()
    (private_dir / "inventory").mkdir()
    (private_dir / "tmp").mkdir()
    _write_yaml(private_dir / "env" / "extravars", _UnsafeDocument(extra_vars))
    _write_yaml(private_dir / "inventory" / "hosts.yml", _UnsafeDocument(_plain(inventory)))
    # ansible-runner reads its settings from this file only (a ``settings=`` argument is dropped without it).
    _write_yaml(private_dir / "env" / "settings", {"pexpect_timeout": _POLL_SECONDS, "suppress_ansible_output": True})
    # An empty config of our own, so no ansible.cfg from the host, the home or the cwd applies.
    (private_dir / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")


class _UnsafeDocument(dict[str, Any]):
    """A YAML document whose root mapping is tagged ``!unsafe``: Ansible marks every string in it as
    data it must never template. The tag goes on the root rather than on each string because
    ansible-core 2.19 re-resolves a tagged scalar as if it were unquoted ("1.10" would become 1.1)."""

    __slots__ = ()


class _UnsafeDumper(yaml.SafeDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: object) -> bool:  # noqa: ARG002 (PyYAML's signature)
        return True  # no anchors: each value is written out where it is used


def _represent_unsafe(dumper: yaml.SafeDumper, document: _UnsafeDocument) -> Any:
    return dumper.represent_mapping("!unsafe", dict(document))


_UnsafeDumper.add_representer(_UnsafeDocument, _represent_unsafe)


def _plain(data: Any) -> Any:
    """Mappings as dicts and sequences as lists: the only containers the safe YAML dumper writes."""
    if isinstance(data, Mapping):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [_plain(item) for item in data]
    return data


def _write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    text = yaml.dump(data, Dumper=_UnsafeDumper, allow_unicode=True, sort_keys=False, explicit_start=True)
    path.write_text(text, encoding="utf-8")


# --- running ------------------------------------------------------------------------------------


def _execute(project_playbook: Path, playbook: str, private_dir: Path, run_id: str,
             progress: ProgressSink, cancel: CancelToken, timeout_s: float,
             tracker: _TaskTracker | None = None) -> RunResult:
    tracker = tracker or _TaskTracker(total=count_tasks(project_playbook), sink=progress)
    config = _prepared_config(project_playbook, private_dir, run_id, timeout_s)
    runner = Runner(config, event_handler=tracker.on_event, cancel_callback=cancel.cancelled)
    log.info("ansible run %s: starting %s", run_id, playbook)
    status, rc = runner.run()
    log.info("ansible run %s: %s (rc=%s) after %d task(s)", run_id, status, rc, tracker.step)
    # Paths inside the private dir mean nothing to the reader; keep them relative to the content root.
    project = f"{private_dir / 'project'}/"
    output = (tracker.failed_output or _stdout_tail(config.artifact_dir)).replace(project, "")
    full_log = _ANSI.sub("", _stdout_tail(config.artifact_dir, _LOG_BYTES)).replace(project, "")
    return _result(status, rc, playbook, tracker, _excerpt(output), timeout_s, full_log)


def _prepared_config(project_playbook: Path, private_dir: Path, run_id: str, timeout_s: float) -> RunnerConfig:
    config = RunnerConfig(private_data_dir=str(private_dir), playbook=str(project_playbook), ident=run_id,
                          quiet=True, timeout=max(1, math.ceil(timeout_s)))
    config.prepare()
    config.env = _child_env(config.env, private_dir, str(config.fact_cache))
    config.command = [_ansible_playbook(), *config.command[1:]]
    return config


def _child_env(prepared: Mapping[str, str], private_dir: Path, fact_cache: str) -> dict[str, str]:
    """The prepared environment without anything Ansible-related inherited from this process."""
    inherited = ("ANSIBLE_", "AWX_", "ORIGINAL_STDOUT_CALLBACK")
    env = {k: v for k, v in prepared.items() if not k.startswith(inherited)}
    env.update({
        "ANSIBLE_CONFIG": str(private_dir / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "awx_display",  # ansible-runner's event-emitting callback
        "ANSIBLE_CALLBACK_PLUGINS": get_callback_dir(),
        "AWX_ISOLATED_DATA_DIR": prepared["AWX_ISOLATED_DATA_DIR"],
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": fact_cache,
        "ANSIBLE_LOCAL_TEMP": str(private_dir / "tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_PIPELINING": "True",  # modules go over the connection's stdin: fewer round trips per task
        # ansible-runner drops a task's result above 700 kB; a log read (2 MB, and again as stdout_lines)
        # must come back whole. Outputs are bounded before they get here (sandbox, ``tail -c``).
        "MAX_EVENT_RES": str(_MAX_EVENT_RES),
    })
    return env


def _ansible_playbook() -> str:
    """The ansible-playbook beside this interpreter (a venv need not be on PATH), else from PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if found is None:
        raise RunnerError(Msg(N_("ansible-playbook is not installed on this worker")))
    return found


@dataclass(slots=True)
class _TaskTracker:
    """Turns ansible-runner events into progress steps and remembers the last real failure."""

    total: int
    sink: ProgressSink
    step: int = 0
    task: str = ""
    failed_task: str = ""
    failed_output: str = ""
    collect: str | None = None  # a task whose per-host results the caller wants
    results: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def on_event(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind in _TASK_STARTS:
            self._start(str(data.get("task") or data.get("name") or ""))
        elif kind in _TASK_FAILURES and not data.get("ignore_errors"):
            self.failed_task = str(data.get("task") or self.task)
            self.failed_output = str(event.get("stdout") or "")
        if self.collect and kind in _TASK_RESULTS and data.get("task") == self.collect:
            res = data.get("res")
            self.results[str(data.get("host") or "")] = res if isinstance(res, Mapping) else {}
        return False  # the events live in memory only; nothing needs them on disk

    def _start(self, name: str) -> None:
        self.step += 1
        self.total = max(self.total, self.step)
        self.task = name
        try:
            self.sink(Progress(step=self.step, total=self.total, name=name))
        except Exception:
            # A broken sink must not abort ansible-runner mid-stream and orphan the playbook.
            log.exception("progress sink failed at step %d", self.step)


def _stdout_tail(artifact_dir: str, size: int = _STDOUT_TAIL_BYTES) -> str:
    """The end of the run's stdout: where a run that failed before any task says why."""
    try:
        with (Path(artifact_dir) / "stdout").open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - size))
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _result(status: str, rc: int | None, playbook: str, tracker: _TaskTracker, excerpt: str,
            timeout_s: float, log: str = "") -> RunResult:
    details = {"status": status, "rc": rc, "tasks_started": tracker.step, "log": log}
    if status == "successful":
        return RunResult(ok=True, details=details, summary=Msg(N_("Playbook {playbook} finished: {tasks} tasks run"),
                                                               {"playbook": playbook, "tasks": tracker.step}))
    if status == "canceled":
        return _cancelled(playbook, tracker.task, details)
    if status == "timeout":
        return RunResult(ok=False, timed_out=True, failed_step=tracker.task, details=details,
                         summary=Msg(N_("Playbook {playbook} timed out after {seconds} s, during {task}"),
                                     {"playbook": playbook, "seconds": timeout_s, "task": tracker.task}))
    failed_step = tracker.failed_task or tracker.task
    summary = Msg(N_("Playbook {playbook} failed at {task}"), {"playbook": playbook, "task": failed_step})
    return RunResult(ok=False, failed_step=failed_step, details=details, summary=summary,
                     log_excerpt=excerpt)


def _cancelled(playbook: str, task: str, details: Mapping[str, object] | None = None) -> RunResult:
    return RunResult(ok=False, cancelled=True, failed_step=task, details=details or {"status": "canceled"},
                     summary=Msg(N_("Playbook {playbook} was cancelled"), {"playbook": playbook}))


def _excerpt(output: str) -> str:
    lines = [line.rstrip() for line in _ANSI.sub("", output).splitlines() if line.strip()]
    text = "\n".join(lines[-_EXCERPT_LINES:])
    return text if len(text) <= _EXCERPT_CHARS else "…" + text[-(_EXCERPT_CHARS - 1):]


# --- counting tasks -----------------------------------------------------------------------------


class _TolerantLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader that reads Ansible's own tags (``!unsafe``, ``!vault``) as plain values."""


def _construct_tagged(loader: yaml.SafeLoader, tag_suffix: str, node: Any) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor("!", _construct_tagged)


def _play_tasks(play: Mapping[str, Any]) -> int:
    facts = 0 if str(play.get("gather_facts", True)).lower() in ("false", "no", "0") else 1
    sections = (play.get(key) for key in ("pre_tasks", "tasks", "post_tasks"))
    return facts + sum(_block_tasks(section) for section in sections)


def _block_tasks(tasks: object) -> int:
    if not isinstance(tasks, list):
        return 0
    return sum(_task_count(task) for task in tasks if isinstance(task, dict))


def _task_count(task: Mapping[str, Any]) -> int:
    if "block" in task:  # the rescue section only runs on failure; count what normally runs
        return _block_tasks(task.get("block")) + _block_tasks(task.get("always"))
    return 1
