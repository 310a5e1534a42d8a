"""The job runner of ``pipeline run``: trigger the run, then follow it until it ends.

Each poll records the run (``PipelineRunStore``: deploy gates read it, the status message shows
it) and reports progress, which nudges the bot to edit the job's status message. A cancel (``pipeline
cancel``, or the job's deadline) is passed on to the provider, and the run is followed until the
provider says it stopped, for at most ``CANCEL_POLLS`` more reads.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping

from bot.clock import now_us
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.jobs import JobRecord
from bot.pipelines import PipelineCatalog, PipelineRun, PipelineRunStore, PipelineSpec, detail_lines
from dihya.jobs.execution import JobRunner
from dihya.pipelines.grafana import Annotations, NoAnnotations
from dihya.pipelines.port import PipelineProvider, ProviderError, RunHandle, RunStatus
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult

log = logging.getLogger("dihya.pipelines")
CANCEL_POLLS = 20
KIND = "pipeline"


class PipelineRunner:
    def __init__(self, catalog: PipelineCatalog, providers: Callable[[PipelineSpec], PipelineProvider],
                 runs: PipelineRunStore, *, poll_s: float = 5.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, annotations: Annotations | None = None) -> None:
        self._catalog = catalog
        self._providers = providers
        self._runs = runs
        self._poll = poll_s
        self._sleep = sleep
        self._clock = clock
        self._annotations = annotations or NoAnnotations()

    def run(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult:
        args = job.draft.args
        try:
            spec = self._catalog.get(str(args["pipeline"]))
        except UserError as err:
            raise RunnerError(err.message) from None
        raw = args.get("params")
        params = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        try:
            provider = self._providers(spec)
        except ProviderError as err:
            raise RunnerError(err.message) from None
        try:
            handle = self._start(job, spec, provider, str(args["ref"]), params)
            return self._follow(job, spec, provider, handle, str(args["ref"]), params, progress, cancel)
        except ProviderError as err:
            raise RunnerError(err.message) from None
        finally:
            provider.close()

    @staticmethod
    def _start(job: JobRecord, spec: PipelineSpec, provider: PipelineProvider, ref: str,
               params: Mapping[str, str]) -> RunHandle:
        """A new run, or (``pipeline rerun``: ``rerun`` names the provider's run) the failed part of one again."""
        rerun = job.draft.args.get("rerun")
        if rerun:
            return provider.retry(spec, RunHandle(str(rerun), str(job.draft.args.get("url") or "")), ref, params)
        return provider.trigger(spec, ref, params, f"dihya-{job.id}-{uuid.uuid4().hex[:8]}")

    def _follow(self, job: JobRecord, spec: PipelineSpec, provider: PipelineProvider, handle: RunHandle, ref: str,
                params: Mapping[str, str], progress: ProgressSink, cancel: CancelToken) -> RunResult:
        cancel_reads = 0
        while True:
            if cancel_reads == 0 and cancel.cancelled():
                self._cancel(provider, spec, handle)
                cancel_reads = 1
            status = provider.status(spec, handle)
            handle = status.handle
            self._record(job, spec, ref, params, status, progress)
            if status.finished:
                return self._result(spec, status)
            if cancel_reads:
                cancel_reads += 1
                if cancel_reads > CANCEL_POLLS:
                    return RunResult(False, Msg(N_("Cancel sent to {provider}; the run had not stopped yet."),
                                                {"provider": spec.provider}), cancelled=True)
            self._sleep(self._poll)

    def _cancel(self, provider: PipelineProvider, spec: PipelineSpec, handle: RunHandle) -> None:
        try:
            provider.cancel(spec, handle)
        except ProviderError:
            log.warning("provider refused to cancel", extra={"pipeline": spec.name, "run": handle.run_id})

    def _record(self, job: JobRecord, spec: PipelineSpec, ref: str, params: Mapping[str, str], status: RunStatus,
                progress: ProgressSink) -> None:
        if not status.handle.run_id:  # a Jenkins build still in the queue has no number yet
            progress(Progress(0, 1, status.status))
            return
        run = PipelineRun(spec.provider, spec.project, status.handle.run_id, status.state, status.status, spec.name,
                          spec.service, ref, status.sha, params.get("version", ""), status.handle.url, status.stages,
                          job.id, "dihya")
        saved, changed = self._runs.save_pipeline_run(run, now_us(self._clock))
        if changed:
            done = sum(1 for s in saved.stages if s.state not in ("queued", "running"))
            current = next((s.name for s in saved.stages if s.state == "running"), saved.status)
            progress(Progress(done, max(len(saved.stages), 1), current))

    def _result(self, spec: PipelineSpec, status: RunStatus) -> RunResult:
        summary = Msg(N_("{pipeline} run {run}: {status}"), {"pipeline": spec.name, "run": status.handle.run_id,
                                                             "status": status.status})
        self._annotations.annotate(f"pipeline {spec.name} run {status.handle.run_id}: {status.status}",
                                   ("pipeline", spec.name, status.state))
        failed = next((s.name for s in status.stages if s.state == "failed"), "")
        return RunResult(status.state == "success", summary, failed_step=failed,
                         cancelled=status.state == "cancelled", details={"url": status.handle.url})


class ByKind:
    """Routes a job to the runner of its kind (``pipeline``), else to the default (the service catalog)."""

    def __init__(self, default: JobRunner, runners: Mapping[str, JobRunner]) -> None:
        self._default = default
        self._runners = runners

    def run(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult:
        return self._runners.get(job.draft.kind, self._default).run(job, progress, cancel)


class AnnotatedDeploys:
    """After a deploy or rollback job, an annotation on the dashboards (whatever its outcome)."""

    KINDS = frozenset({"deploy", "rollback"})

    def __init__(self, inner: JobRunner, annotations: Annotations) -> None:
        self._inner = inner
        self._annotations = annotations

    def run(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult:
        result = self._inner.run(job, progress, cancel)
        if job.draft.kind in self.KINDS:
            outcome = "succeeded" if result.ok else "failed"
            self._annotations.annotate(f"{job.draft.summary}: {outcome}", (job.draft.kind,
                                       str(job.draft.args.get("service", "")), str(job.draft.args.get("env", ""))))
        return result


def pipeline_detail(runs: PipelineRunStore) -> Callable[[JobRecord], tuple[Msg, ...]]:
    """The status message's extra lines for a pipeline job: the run's link and its stages."""
    def detail(job: JobRecord) -> tuple[Msg, ...]:
        if job.draft.kind != KIND:
            return ()
        run = runs.pipeline_run_for_job(job.id)
        return detail_lines(run) if run is not None else ()

    return detail
