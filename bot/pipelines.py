"""CI/CD pipelines as the core sees them: the catalog, what a run looks like, how it reads, deploy gates.

A pipeline is declared once in the TOML file (``[pipelines.NAME]``): its provider, project, the
refs it may run on and the parameters it takes, each with a type. Everything a person types is
checked against that declaration before anything reaches a provider. Runs (triggered here or
reported by a provider's webhook) are recorded as ``PipelineRun`` rows; the newest one for a
service's version decides whether ``deploy`` may go ahead.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.alerting import Route, route_for
from bot.errors import UserError
from bot.i18n import N_, Msg

PROVIDERS = frozenset({"github", "gitlab", "jenkins"})
RUN_KEY_PREFIX = "ci-run:"
# A run's state, whatever the provider calls it: queued → running → success | failed | cancelled
RUN_TERMINAL = frozenset({"success", "failed", "cancelled"})
STATE_ICONS: Mapping[str, str] = {"queued": "⏳", "running": "🔄", "success": "✅", "failed": "❌",
                                  "cancelled": "🛑", "skipped": "⏭"}
MAX_PARAM_CHARS = 200

_EXPECTED: Mapping[str, str] = {
    "string": N_("text of letters, digits and . _ - / : @ + (at most 200 characters)"),
    "boolean": N_("true or false"),
    "integer": N_("a whole number"),
    "version": N_("a version such as 1.4.0 or v1.4.0-rc.1"),
}
_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "string": re.compile(r"[A-Za-z0-9._/:@+-]{1,200}"),
    "boolean": re.compile(r"true|false"),
    "integer": re.compile(r"-?[0-9]{1,18}"),
    "version": re.compile(r"v?[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z.-]{1,40})?"),
}
PARAM_KINDS = frozenset({*_PATTERNS, "choice"})
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter a pipeline accepts, with its type (``choice`` lists its values)."""

    name: str
    kind: str
    choices: tuple[str, ...] = ()

    def convert(self, raw: str, pipeline: str) -> str:
        ok = raw in self.choices if self.kind == "choice" else _PATTERNS[self.kind].fullmatch(raw) is not None
        if not ok:
            raise UserError(N_("“{value}” is not a valid {param} for {pipeline}: expected {expected}."),
                            value=raw[:MAX_PARAM_CHARS], param=self.name, pipeline=pipeline, expected=self.expected)
        return raw

    @property
    def expected(self) -> Msg:
        if self.kind == "choice":
            return Msg(N_("one of {choices}"), {"choices": ", ".join(self.choices)})
        return Msg(_EXPECTED[self.kind])


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """``[pipelines.NAME]``: where the pipeline lives and what may be asked of it."""

    name: str
    provider: str  # github | gitlab | jenkins
    project: str  # owner/repo, a GitLab project path or id, or a Jenkins job path (folder/job)
    workflow: str = ""  # GitHub: the workflow file or id
    refs: tuple[str, ...] = ("main",)  # allowed refs; shell-style patterns ("release/*")
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    environment: str = ""  # "production" follows the production approval policy
    service: str = ""  # the service whose deploys this pipeline gates
    timeout_s: int = 3600
    url: str = ""  # API base (GitHub Enterprise, self-managed GitLab, Jenkins)
    options: Mapping[str, str] = field(default_factory=dict)  # credentials by secret name, user, app ids

    @property
    def default_ref(self) -> str:
        return next((r for r in self.refs if not _is_pattern(r)), self.refs[0])

    def check_ref(self, ref: str) -> str:
        if _REF.fullmatch(ref) is None or ".." in ref or not any(fnmatch.fnmatchcase(ref, p) for p in self.refs):
            raise UserError(N_("{pipeline} may not run on “{ref}”; allowed refs: {allowed}."),
                            pipeline=self.name, ref=ref[:MAX_PARAM_CHARS], allowed=", ".join(self.refs))
        return ref

    def check_params(self, text: str) -> dict[str, str]:
        """``KEY=VALUE …`` → the values, each checked against its declared type."""
        values: dict[str, str] = {}
        for token in text.split():
            key, sep, raw = token.partition("=")
            if not sep or not key:
                raise UserError(N_("Parameters are written KEY=VALUE; “{token}” is not."),
                                token=token[:MAX_PARAM_CHARS])
            spec = self.params.get(key)
            if spec is None:
                raise UserError(N_("{pipeline} has no parameter “{param}”; allowed parameters: {allowed}."),
                                pipeline=self.name, param=key[:MAX_PARAM_CHARS],
                                allowed=", ".join(sorted(self.params)) or "-")
            values[key] = spec.convert(raw, self.name)
        return values


def _is_pattern(ref: str) -> bool:
    return any(c in ref for c in "*?[")


@dataclass(frozen=True, slots=True)
class PipelineCatalog:
    pipelines: Mapping[str, PipelineSpec] = field(default_factory=dict)

    def get(self, name: str) -> PipelineSpec:
        found = self.pipelines.get(name)
        if found is None:
            raise UserError(N_("Unknown pipeline {name}; known pipelines: {known}."),
                            name=name, known=", ".join(sorted(self.pipelines)) or "-")
        return found

    def for_project(self, provider: str, project: str) -> PipelineSpec | None:
        """The catalog entry of a provider's project (how a webhook's run finds its pipeline)."""
        wanted = project.casefold()
        return next((p for p in self.pipelines.values()
                     if p.provider == provider and p.project.casefold() == wanted), None)

    @property
    def production(self) -> frozenset[str]:
        return frozenset(n for n, p in self.pipelines.items() if p.environment == "production")


@dataclass(frozen=True, slots=True)
class Stage:
    """One job (GitHub, GitLab) or stage (Jenkins) of a run."""

    name: str
    state: str  # queued | running | success | failed | cancelled | skipped
    status: str = ""  # the provider's own word ("in_progress", "SUCCESS")


@dataclass(frozen=True, slots=True)
class PipelineRun:
    provider: str
    project: str
    run_id: str  # the provider's run / pipeline id, or Jenkins "job#number"
    state: str  # one of STATE_ICONS but "skipped"
    status: str = ""  # the provider's word for the whole run
    pipeline: str = ""  # catalog name, when the project is in the catalog
    service: str = ""
    ref: str = ""
    sha: str = ""
    version: str = ""  # the ``version`` parameter it ran with, when known
    url: str = ""
    stages: tuple[Stage, ...] = ()
    job_id: int | None = None  # the Dihya job that triggered it
    source: str = "dihya"  # dihya | webhook
    default_branch: str = ""
    id: int = 0
    created_us: int = 0
    updated_us: int = 0

    @property
    def key(self) -> str:
        return f"{RUN_KEY_PREFIX}{self.id}"

    @property
    def label(self) -> str:
        return f"{self.pipeline or self.project} #{self.run_id}"

    @property
    def finished(self) -> bool:
        return self.state in RUN_TERMINAL

    def matches_version(self, version: str) -> bool:
        """A deploy of ``version`` (a version, a tag or a commit of at least 7 characters) is this run's."""
        if not version:
            return False
        return version in (self.version, self.ref) or (len(version) >= 7 and self.sha.startswith(version))


class PipelineRunStore(Protocol):
    """Pipeline runs, keyed by (provider, project, run id); each save says whether anything changed."""

    def save_pipeline_run(self, run: PipelineRun, now_us: int) -> tuple[PipelineRun, bool]: ...
    def pipeline_run_for_job(self, job_id: int) -> PipelineRun | None: ...
    def pipeline_runs(self, *, pipeline: str | None = None, service: str | None = None,
                      limit: int = 20) -> list[PipelineRun]: ...


def blocking_run(runs: Sequence[PipelineRun], version: str) -> PipelineRun | None:
    """The run that stops a deploy of ``version``: the newest run for it, unless that one succeeded."""
    newest = next((r for r in sorted(runs, key=lambda r: (r.created_us, r.id), reverse=True)
                   if r.matches_version(version)), None)
    return None if newest is None or newest.state == "success" else newest


# --- how runs read ----------------------------------------------------------------------------


def detail_lines(run: PipelineRun) -> tuple[Msg, ...]:
    """The run's link and each stage with its state, under a job's status line."""
    head = Msg(N_("Run {run}: {status} — {url}"), {"run": run.run_id, "status": run.status or run.state,
                                                   "url": run.url or "-"})
    return (head, *(_stage_line(s) for s in run.stages))


def _stage_line(stage: Stage) -> Msg:
    return Msg(N_("{icon} {name}: {status}"), {"icon": STATE_ICONS.get(stage.state, "•"), "name": stage.name,
                                                "status": stage.status or stage.state})


_RESULTS: Mapping[str, str] = {
    "success": N_("{icon} {pipeline} succeeded on {branch} ({repository})"),
    "failed": N_("{icon} {pipeline} failed on {branch} ({repository})"),
    "cancelled": N_("{icon} {pipeline} was cancelled on {branch} ({repository})"),
    "running": N_("{icon} {pipeline} is running on {branch} ({repository})"),
    "queued": N_("{icon} {pipeline} is queued on {branch} ({repository})"),
}


def result_lines(run: PipelineRun, what: str) -> tuple[Msg, ...]:
    """A provider-reported result as posted in a channel: what ran, where, how it ended, the link."""
    params = {"icon": STATE_ICONS.get(run.state, "•"), "pipeline": what, "branch": run.ref or "-",
              "repository": run.project}
    lines = [Msg(_RESULTS[run.state], params)]
    if run.sha:
        lines.append(Msg(N_("Commit: {sha}"), {"sha": run.sha[:12]}))
    lines.extend(_stage_line(s) for s in run.stages if s.state != "success")
    if run.url:
        lines.append(Msg(N_("Run: {url}"), {"url": run.url}))
    return tuple(lines)


def run_list_line(run: PipelineRun) -> Msg:
    return Msg(N_("{icon} {run} on {ref}: {status} — {url}"),
               {"icon": STATE_ICONS.get(run.state, "•"), "run": run.label, "ref": run.ref or "-",
                "status": run.status or run.state, "url": run.url or "-"})


def merge_run(old: PipelineRun, new: PipelineRun) -> PipelineRun:
    """What a stored run becomes when news of it arrives: known fields are kept when the news lacks
    them (a webhook knows no job), and a finished run never goes back to running (late delivery)."""
    rerun = new.job_id is not None and new.job_id != old.job_id  # ``pipeline rerun``: the run starts again
    if old.finished and not new.finished and not rerun:
        new = replace(new, state=old.state, status=old.status, stages=old.stages)
    return replace(
        new, id=old.id, created_us=old.created_us,
        pipeline=new.pipeline or old.pipeline, service=new.service or old.service, ref=new.ref or old.ref,
        sha=new.sha or old.sha, version=new.version or old.version, url=new.url or old.url,
        stages=new.stages or old.stages, job_id=new.job_id if new.job_id is not None else old.job_id,
        source=old.source, default_branch=new.default_branch or old.default_branch)


def changed(old: PipelineRun, new: PipelineRun) -> bool:
    """Whether a saved run shows something new (its state, the provider's word, a stage, its link)."""
    return (old.state, old.status, old.stages, old.url) != (new.state, new.status, new.stages, new.url)


@dataclass(frozen=True, slots=True)
class CiPolicy:
    """``[ci]``: where provider-reported results are posted, and what a red default branch does."""

    routes: tuple[Route, ...] = ()
    default_channel: str | None = None
    locale: str = "en"
    incident_on_default_branch_failure: bool = False

    def destination(self, labels: Mapping[str, str]) -> tuple[str | None, str]:
        route = route_for(self.routes, labels)
        if route is None:
            return self.default_channel, self.locale
        return route.channel, route.locale or self.locale
