"""``PipelineRunStore`` over SQLAlchemy (issue 15): one row per provider run."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import Engine, Row, Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.pipelines import PipelineRun, Stage, changed, merge_run
from dihya.store.engine import readers
from dihya.store.models_pipelines import PipelineRunRow

_ATTEMPTS = 3  # another replica may insert the same run between our read and our insert


def _runs_query(by_pipeline: bool, by_service: bool) -> Select[tuple[PipelineRunRow]]:
    query = select(PipelineRunRow)
    if by_pipeline:
        query = query.where(PipelineRunRow.pipeline == bindparam("pipeline"))
    if by_service:
        query = query.where(PipelineRunRow.service == bindparam("service"))
    return query.order_by(PipelineRunRow.created_us.desc(), PipelineRunRow.id.desc()).limit(bindparam("limit"))


# Built once per filter: every deploy's gate reads its service's runs (building the query cost a
# deploy over HTTP a tenth of its CPU).
_RUNS = {(p, s): _runs_query(p, s) for p in (False, True) for s in (False, True)}


class PipelineRunsSql:
    __slots__ = ("engine", "reader")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = readers(engine)  # every deploy reads the runs (its gate): no write lock for that

    def save_pipeline_run(self, run: PipelineRun, now_us: int) -> tuple[PipelineRun, bool]:
        for _ in range(_ATTEMPTS):
            try:
                return self._save(run, now_us)
            except IntegrityError:
                continue
        raise RuntimeError("pipeline run could not be saved")

    def _save(self, run: PipelineRun, now_us: int) -> tuple[PipelineRun, bool]:
        where = (PipelineRunRow.provider == run.provider, PipelineRunRow.project == run.project,
                 PipelineRunRow.run_id == run.run_id)
        with self.engine.begin() as conn:
            row = conn.execute(select(PipelineRunRow).where(*where).with_for_update()).first()
            if row is None:
                new = replace(run, created_us=now_us, updated_us=now_us)
                new_id = conn.execute(insert(PipelineRunRow).values(**_columns(new))).inserted_primary_key
                assert new_id is not None
                return replace(new, id=int(new_id[0])), True
            old = _run(row)
            merged = replace(merge_run(old, run), updated_us=now_us)
            conn.execute(update(PipelineRunRow).where(PipelineRunRow.id == old.id).values(**_columns(merged)))
            return merged, changed(old, merged)

    def pipeline_run_for_job(self, job_id: int) -> PipelineRun | None:
        query = select(PipelineRunRow).where(PipelineRunRow.job_id == job_id).order_by(PipelineRunRow.id.desc())
        with self.reader.connect() as conn:
            row = conn.execute(query).first()
        return _run(row) if row else None

    def pipeline_runs(self, *, pipeline: str | None = None, service: str | None = None,
                      limit: int = 20) -> list[PipelineRun]:
        query = _RUNS[pipeline is not None, service is not None]
        with self.reader.connect() as conn:
            return [_run(r) for r in conn.execute(query, {"pipeline": pipeline, "service": service, "limit": limit})]


def _columns(run: PipelineRun) -> dict[str, object]:
    return {"provider": run.provider, "project": run.project[:300], "run_id": run.run_id[:100],
            "pipeline": run.pipeline[:100], "service": run.service[:100], "state": run.state,
            "status": run.status[:32], "ref": run.ref[:255], "sha": run.sha[:64], "version": run.version[:100],
            "url": run.url, "stages": json.dumps([[s.name, s.state, s.status] for s in run.stages]),
            "job_id": run.job_id, "source": run.source, "default_branch": run.default_branch[:255],
            "created_us": run.created_us, "updated_us": run.updated_us}


def _run(row: Row[tuple[PipelineRunRow]] | PipelineRunRow) -> PipelineRun:
    r = row
    stages = tuple(Stage(str(n), str(s), str(w)) for n, s, w in json.loads(r.stages))
    return PipelineRun(r.provider, r.project, r.run_id, r.state, r.status, r.pipeline, r.service, r.ref, r.sha,
                       r.version, r.url, stages, r.job_id, r.source, r.default_branch, r.id, r.created_us,
                       r.updated_us)
