"""pipelines, pipeline run / status / cancel / rerun: CI/CD pipelines from chat (issue 15).

The handlers take typed arguments (a pipeline name, a ref, ``KEY=VALUE`` parameters, a run
number), so the HTTP API can call them with the same values. A run is a job of kind ``pipeline``;
a production pipeline follows the production approval policy (``deploy.prod``). A re-run is a
new job on the same run (GitHub, GitLab) or a new build with the same parameters (Jenkins), under
the permission of ``pipeline run`` for that pipeline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.argtypes import GitRef, Integer, Name, Text
from bot.clock import now_us
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.jobs import JobRecord, status_lines
from bot.pipelines import PipelineCatalog, PipelineRun, PipelineSpec, detail_lines, run_list_line
from bot.ports import JobStore
from bot.registry import Arg, ByArgument, Command, Reply
from commands.common import say, start_job
from commands.jobs import cancel_job

KIND = "pipeline"
RUN_COMMAND = "pipeline.run"
RERUN_COMMAND = "pipeline.rerun"
SHOWN_RUNS = 5


def list_pipelines(ctx: Context, args: Mapping[str, object]) -> Reply:
    pipelines = ctx.services.pipelines.pipelines
    if not pipelines:
        return say(N_("No pipelines are configured ([pipelines] in the settings file)."))
    rows = [Msg(N_("• {name}: {provider} {project} — refs {refs}; parameters {params}{env}"),
                {"name": p.name, "provider": p.provider, "project": p.project, "refs": ", ".join(p.refs),
                 "params": ", ".join(f"{n} ({s.kind})" for n, s in sorted(p.params.items())) or "-",
                 "env": f" — {p.environment}" if p.environment else ""})
            for p in sorted(pipelines.values(), key=lambda p: p.name)]
    return Reply((Msg(N_("Pipelines ({count}):"), {"count": len(rows)}), *rows))


def run_pipeline(ctx: Context, args: Mapping[str, object]) -> Reply:
    spec, ref, params = _checked_run(ctx, args)
    return start_job(ctx, KIND, {"pipeline": spec.name, "ref": ref, "params": params}, spec.timeout_s)


def check_run(ctx: Context, args: Mapping[str, object]) -> None:
    """Before a production run's approval is asked: a known pipeline, an allowed ref and parameters."""
    _checked_run(ctx, args)


def _checked_run(ctx: Context, args: Mapping[str, object]) -> tuple[PipelineSpec, str, dict[str, str]]:
    spec = ctx.services.pipelines.get(str(args["name"]))
    ref = spec.check_ref(str(args.get("ref") or spec.default_ref))
    return spec, ref, spec.check_params(str(args.get("params") or ""))


def pipeline_status(ctx: Context, args: Mapping[str, object]) -> Reply:
    target = str(args["target"])
    if target.isdigit():
        job = _pipeline_job(ctx, int(target))
        runs = ctx.services.pipeline_runs
        run = runs.pipeline_run_for_job(job.id) if runs is not None else None
        detail = detail_lines(run) if run is not None else ()
        return Reply(status_lines(job, now_us(ctx.services.clock), detail), target=job.key)
    spec = ctx.services.pipelines.get(target)
    found = ctx.services.pipeline_runs.pipeline_runs(pipeline=spec.name, limit=SHOWN_RUNS) \
        if ctx.services.pipeline_runs is not None else []
    if not found:
        return say(N_("No runs of {pipeline} are recorded yet."), target=spec.name, pipeline=spec.name)
    return Reply((Msg(N_("Latest runs of {pipeline}:"), {"pipeline": spec.name}), *map(run_list_line, found)),
                 target=spec.name)


def cancel_pipeline(ctx: Context, args: Mapping[str, object]) -> Reply:
    _pipeline_job(ctx, int(str(args["run"])))
    return cancel_job(ctx, {"id": args["run"]})


def rerun_pipeline(ctx: Context, args: Mapping[str, object]) -> Reply:
    job, spec, run = _rerun_target(ctx, args)
    rerun = {"pipeline": spec.name, "ref": job.draft.args["ref"], "params": job.draft.args.get("params") or {},
             "rerun": run.run_id, "url": run.url}
    return start_job(ctx, KIND, rerun, spec.timeout_s)


def check_rerun(ctx: Context, args: Mapping[str, object]) -> None:
    """Before an approval is asked: a run that can be re-run (ended, and not in success)."""
    _rerun_target(ctx, args)


def _rerun_target(ctx: Context, args: Mapping[str, object]) -> tuple[JobRecord, PipelineSpec, PipelineRun]:
    job = _pipeline_job(ctx, int(str(args["run"])))
    spec = ctx.services.pipelines.get(str(job.draft.args["pipeline"]))
    runs = ctx.services.pipeline_runs
    run = runs.pipeline_run_for_job(job.id) if runs is not None else None
    if run is None:
        raise UserError(N_("Job #{id} has no pipeline run to re-run (it never reached {provider})."),
                        id=job.id, provider=spec.provider)
    if not run.finished:
        raise UserError(N_("Run {run} of {pipeline} has not ended yet; wait for it or cancel it first."),
                        run=run.run_id, pipeline=spec.name)
    if run.state == "success":
        raise UserError(N_("Run {run} of {pipeline} succeeded; nothing to re-run (“pipeline run” starts a new "
                           "one)."), run=run.run_id, pipeline=spec.name)
    return job, spec, run


def _pipeline_job(ctx: Context, job_id: int) -> JobRecord:
    job = ctx.services.store.job(job_id)
    if job is None or job.draft.kind != KIND:
        raise UserError(N_("No pipeline run #{id}; “pipeline status NAME” lists a pipeline's runs."), id=job_id)
    return job


def run_permission(catalog: PipelineCatalog) -> ByArgument:
    """Production pipelines need what a production deploy needs (approval by default)."""
    return ByArgument("name", dict.fromkeys(catalog.production, "deploy.prod"), "deploy.nonprod")


@dataclass(frozen=True, slots=True)
class ByRunPipeline(ByArgument):
    """``pipeline rerun RUN``: the permission ``pipeline run`` needs for the pipeline that run belongs to."""

    pipeline_of: Callable[[int], str | None] = lambda _job_id: None  # replaced by ``with_catalog``

    def __call__(self, args: Mapping[str, object]) -> str:
        raw = str(args.get(self.arg))
        name = self.pipeline_of(int(raw)) if raw.isdigit() else None
        return self.cases.get(str(name), self.default)


def pipeline_of_job(store: JobStore) -> Callable[[int], str | None]:
    def pipeline(job_id: int) -> str | None:
        job = store.job(job_id)
        return str(job.draft.args.get("pipeline")) if job is not None and job.draft.kind == KIND else None

    return pipeline


def with_catalog(commands: Iterable[Command], catalog: PipelineCatalog,
                 store: JobStore | None = None) -> tuple[Command, ...]:
    """The commands, with ``pipeline run``'s (and ``rerun``'s) permission following the configured catalog."""
    by_name = run_permission(catalog)
    by_run = ByRunPipeline("run", by_name.cases, by_name.default)
    if store is not None:
        by_run = dataclasses.replace(by_run, pipeline_of=pipeline_of_job(store))
    rules: dict[str, ByArgument] = {RUN_COMMAND: by_name, RERUN_COMMAND: by_run}
    return tuple(dataclasses.replace(c, permission=rules[c.name]) if c.name in rules else c for c in commands)


_RUN = Arg("run", Integer(1, 2**31 - 1), N_("run number"))

COMMANDS = (
    Command(
        name="pipelines",
        phrases={"en": ("pipelines",), "fr": ("pipelines",), "ar": ("المسارات",), "tzm": ("ⵉⴱⵔⵉⴷⵏ",)},
        permission="read",
        help=N_("List the CI/CD pipelines you can run, with their refs and parameters."),
        handler=list_pipelines,
        examples=("pipelines",),
    ),
    Command(
        name=RUN_COMMAND,
        phrases={"en": ("pipeline run {name} [on {ref}] [{params}]",),
                 "fr": ("pipeline lancer {name} [sur {ref}] [{params}]",),
                 "ar": ("شغل مسار {name} [على {ref}] [{params}]",),
                 "tzm": ("ⵙⵙⵉⴷⴼ ⴰⴱⵔⵉⴷ {name} [ⴼ {ref}] [{params}]",)},
        args=(Arg("name", Name(), N_("pipeline")), Arg("ref", GitRef(), N_("branch or tag"), optional=True),
              Arg("params", Text(max_length=1000), N_("parameters"), optional=True)),
        permission=run_permission(PipelineCatalog()),
        help=N_("Run a CI/CD pipeline on a branch or tag with KEY=VALUE parameters (production ones need "
                "approval)."),
        handler=run_pipeline,
        job=True,
        check=check_run,
        mutating=True,
        examples=("pipeline run api-ci on main version=1.4.0",),
    ),
    Command(
        name="pipeline.status",
        phrases={"en": ("pipeline status {target}",), "fr": ("pipeline état {target}", "pipeline etat {target}"),
                 "ar": ("حالة مسار {target}",), "tzm": ("ⴰⴷⴷⴰⴷ ⵏ ⵓⴱⵔⵉⴷ {target}",)},
        args=(Arg("target", Name(), N_("pipeline or run number")),),
        permission="read",
        help=N_("Show a pipeline's latest runs, or one run with its jobs and link."),
        handler=pipeline_status,
        examples=("pipeline status api-ci", "pipeline status 12"),
    ),
    Command(
        name="pipeline.cancel",
        phrases={"en": ("pipeline cancel {run}",), "fr": ("pipeline annuler {run}",),
                 "ar": ("ألغ مسار {run}",), "tzm": ("ⵙⵙⵔ ⴰⴱⵔⵉⴷ {run}",)},
        args=(_RUN,),
        permission="deploy.nonprod",
        help=N_("Cancel a pipeline run started from chat (yours, or any if you are an operator)."),
        handler=cancel_pipeline,
        mutating=True,
        examples=("pipeline cancel 12",),
    ),
    Command(
        name=RERUN_COMMAND,
        phrases={"en": ("pipeline rerun {run}", "pipeline retry {run}"),
                 "fr": ("pipeline relancer {run}",),
                 "ar": ("أعد تشغيل مسار {run}",), "tzm": ("ⴰⵍⵙ ⴰⴱⵔⵉⴷ {run}",)},
        args=(_RUN,),
        permission=ByRunPipeline("run", {}, "deploy.nonprod"),
        help=N_("Run a failed or cancelled pipeline run again: its failed jobs (GitHub, GitLab) or the same "
                "build (Jenkins); production ones need approval."),
        handler=rerun_pipeline,
        job=True,
        check=check_rerun,
        mutating=True,
        examples=("pipeline rerun 12",),
    ),
)
