"""``PipelineRunStore`` in memory (issue 15), with the SQL store's semantics (``merge_run``)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from bot.pipelines import PipelineRun, changed, merge_run


class MemoryPipelineRuns:
    __slots__ = ("_ids", "_runs")

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str, str], PipelineRun] = {}
        self._ids = itertools.count(1)

    def save_pipeline_run(self, run: PipelineRun, now_us: int) -> tuple[PipelineRun, bool]:
        key = (run.provider, run.project, run.run_id)
        old = self._runs.get(key)
        if old is None:
            saved = replace(run, id=next(self._ids), created_us=now_us, updated_us=now_us)
            self._runs[key] = saved
            return saved, True
        merged = replace(merge_run(old, run), updated_us=now_us)
        self._runs[key] = merged
        return merged, changed(old, merged)

    def pipeline_run_for_job(self, job_id: int) -> PipelineRun | None:
        return next((r for r in self._newest() if r.job_id == job_id), None)

    def pipeline_runs(self, *, pipeline: str | None = None, service: str | None = None,
                      limit: int = 20) -> list[PipelineRun]:
        found = (r for r in self._newest() if pipeline in (None, r.pipeline) and service in (None, r.service))
        return list(itertools.islice(found, limit))

    def _newest(self) -> list[PipelineRun]:
        return sorted(self._runs.values(), key=lambda r: (r.created_us, r.id), reverse=True)
