"""``/api/it_devops/pipelines/``: the CI/CD pipelines of issue 15 over HTTP.

Each route calls the chat command that does the same (``pipelines``, ``pipeline run``, ``pipeline
status``, ``pipeline cancel``, ``pipeline rerun``) through the API's kit (``Bot.invoke``), so a
pipeline has one permission, one approval policy and one audit trail whichever way it is asked. A
run is named by its job number, as in chat. Registered by ``build_api`` with ``include_pipelines``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Body, FastAPI
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from bot.core import Bot, Invoked
from bot.events import Place
from bot.i18n import N_, Msg
from bot.jobs import JobRecord
from bot.ports import Store
from bot.rbac import Decision
from commands.pipelines import KIND, RERUN_COMMAND, RUN_COMMAND
from dihya.api.rest.openapi import Id, Problem

TAG = "pipelines"
CATALOG_COMMAND, STATUS_COMMAND, CANCEL_COMMAND = "pipelines", "pipeline.status", "pipeline.cancel"


@dataclass(frozen=True, slots=True)
class Kit:
    """What ``build_api`` lends its route modules: who calls, what they may do, how a command runs."""

    caller: Callable[[Request], Awaitable[str]]
    require: Callable[[str, str, dict[str, object] | None], None]
    run: Callable[[Request, str, str, dict[str, object], Place | None], Awaitable[Invoked]]
    once: Callable[[Request, str, dict[str, object], Callable[[], Awaitable[Invoked]]], Awaitable[Response]]
    problem: Callable[[int, Msg], Exception]
    approval_place: Place | None


# -- bodies (their examples feed the OpenAPI document) ---------------------------------------------
class PipelineView(BaseModel):
    name: str
    provider: str
    project: str
    refs: list[str]
    parametres: dict[str, str] = Field(description="Each parameter's type: string, boolean, integer, version, or "
                                                   "the allowed values separated by `|`.")
    environnement: str
    approbation: bool = Field(description="Whether a run needs an approval from you.")

    model_config = {"json_schema_extra": {"examples": [{
        "name": "api-ci", "provider": "github", "project": "acme/api", "refs": ["main", "release/*"],
        "parametres": {"version": "version", "region": "eu|us"}, "environnement": "", "approbation": False}]}}


class RunRequest(BaseModel):
    ref: str | None = Field(default=None, min_length=1, max_length=255, examples=["main"],
                            description="A branch or tag the pipeline allows (default: its first fixed ref).")
    parametres: dict[str, str | int | bool] | None = Field(default=None, examples=[{"version": "1.4.0"}])

    model_config = {"json_schema_extra": {"examples": [{"ref": "main", "parametres": {"version": "1.4.0"}}]}}


class StageView(BaseModel):
    name: str
    state: str
    status: str


class ProviderRunView(BaseModel):
    id: str
    state: str
    status: str
    url: str
    stages: list[StageView]


class RunView(BaseModel):
    id: int = Field(description="The run's number in Dihya (its job).")
    pipeline: str
    ref: str
    parametres: dict[str, str]
    state: str = Field(description="The job's state: queued, running, succeeded, failed, cancelled, timed_out.")
    cancel_requested: bool
    run: ProviderRunView | None = Field(description="The provider's run, once it exists.")

    model_config = {"json_schema_extra": {"examples": [{
        "id": 12, "pipeline": "api-ci", "ref": "main", "parametres": {"version": "1.4.0"}, "state": "running",
        "cancel_requested": False, "run": {
            "id": "30433642", "state": "running", "status": "in_progress",
            "url": "https://github.com/acme/api/actions/runs/30433642",
            "stages": [{"name": "build", "state": "success", "status": "success"},
                       {"name": "test", "state": "running", "status": "in_progress"}]}}]}}


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "A job started (`Location`: the job) or an approval was asked in chat (`Location`: the "
                         "approval request).",
          "content": {"application/json": {"example": {"status": "job", "id": 12, "url": "/api/it_devops/jobs/12"}}}},
    404: {"description": "No such pipeline or run (problem+json)", "model": Problem},
    422: {"description": "A ref or parameter the pipeline does not allow, with the allowed ones (problem+json)",
          "model": Problem},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such run (problem+json)", "model": Problem}}


def param_text(values: Mapping[str, str | int | bool]) -> str:
    """A JSON body's parameters as ``pipeline run`` reads them (``KEY=VALUE …``; booleans as true/false)."""
    return " ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in values.items())


def include_pipelines(api: FastAPI, bot: Bot, kit: Kit) -> None:
    """Declare the pipeline routes on ``api``."""
    services = bot.services
    store: Store = services.store

    def pipeline_job(run_id: Id) -> JobRecord:
        job = store.job(run_id)
        if job is None or job.draft.kind != KIND:
            raise kit.problem(404, Msg(N_("No pipeline run #{id}; “pipeline status NAME” lists a pipeline's runs."),
                                       {"id": run_id}))
        return job

    def run_view(run_id: Id) -> RunView:
        job = pipeline_job(run_id)
        runs = services.pipeline_runs
        found = runs.pipeline_run_for_job(job.id) if runs is not None else None
        provider = None if found is None else ProviderRunView(
            id=found.run_id, state=found.state, status=found.status, url=found.url,
            stages=[StageView(name=s.name, state=s.state, status=s.status) for s in found.stages])
        params = job.draft.args.get("params")
        return RunView(id=job.id, pipeline=str(job.draft.args["pipeline"]), ref=str(job.draft.args["ref"]),
                       parametres={str(k): str(v) for k, v in params.items()} if isinstance(params, Mapping) else {},
                       state=job.state, cancel_requested=job.cancel_requested, run=provider)

    def known(name: str) -> None:
        if name not in services.pipelines.pipelines:
            raise kit.problem(404, Msg(N_("Unknown pipeline {name}; known pipelines: {known}."),
                                       {"name": name, "known": ", ".join(sorted(services.pipelines.pipelines)) or "-"}))

    @api.get("/pipelines/", response_model=list[PipelineView], tags=[TAG], summary="The pipelines you may run",
             description="Like `pipelines` in chat, limited to those your roles may run: refs, typed parameters, "
                         "and whether a run needs an approval (production pipelines).")
    async def catalog(request: Request) -> list[PipelineView]:
        identity = await kit.caller(request)
        kit.require(identity, CATALOG_COMMAND, None)
        roles = services.identities.fresh(identity).roles
        run_rule = services.registry.commands[RUN_COMMAND]
        views = []
        for spec in sorted(services.pipelines.pipelines.values(), key=lambda p: p.name):
            decision = services.policy.decide(roles, run_rule.permission_for({"name": spec.name}))
            if decision is Decision.DENY:
                continue
            params = {n: "|".join(p.choices) if p.kind == "choice" else p.kind for n, p in sorted(spec.params.items())}
            views.append(PipelineView(name=spec.name, provider=spec.provider, project=spec.project,
                                      refs=list(spec.refs), parametres=params, environnement=spec.environment,
                                      approbation=decision is Decision.NEEDS_APPROVAL))
        return views

    @api.post("/pipelines/{name}/runs", status_code=202, tags=[TAG], summary="Run a pipeline",
              description="Like `pipeline run NAME on REF KEY=VALUE…`: only the refs and parameters the catalog "
                          "allows. 202 with the job's `Location`, or the approval request's for a production "
                          "pipeline. `Idempotency-Key` makes a retry answer the first response.",
              responses=ACCEPTED)
    async def start(request: Request, name: str, body: Annotated[RunRequest, Body(examples=[
            {"ref": "main", "parametres": {"version": "1.4.0"}}])]) -> Response:
        identity = await kit.caller(request)
        known(name)
        args: dict[str, object] = {"name": name}
        if body.ref:
            args["ref"] = body.ref
        if body.parametres:
            args["params"] = param_text(body.parametres)
        return await kit.once(request, identity, args,
                              lambda: kit.run(request, identity, RUN_COMMAND, args, kit.approval_place))

    @api.get("/pipelines/runs/{run_id}", response_model=RunView, tags=[TAG], summary="A pipeline run",
             description="Like `pipeline status RUN`: the job's state and the provider's run with its stages and link.",
             responses=NOT_FOUND)
    async def status(request: Request, run_id: Id) -> RunView:
        kit.require(await kit.caller(request), STATUS_COMMAND, {"target": str(run_id)})
        return run_view(run_id)

    @api.post("/pipelines/runs/{run_id}/cancel", status_code=202, response_model=RunView, tags=[TAG],
              summary="Cancel a pipeline run",
              description="Like `pipeline cancel RUN` (the requester or an operator): the cancel reaches the "
                          "provider; answers the run as it is now.",
              responses=NOT_FOUND)
    async def cancel(request: Request, run_id: Id) -> RunView:
        identity = await kit.caller(request)
        pipeline_job(run_id)
        await kit.run(request, identity, CANCEL_COMMAND, {"run": run_id}, None)
        return run_view(run_id)

    @api.post("/pipelines/runs/{run_id}/rerun", status_code=202, tags=[TAG], summary="Re-run a pipeline run",
              description="Like `pipeline rerun RUN`: a failed or cancelled run's failed jobs again (GitHub, GitLab) "
                          "or the same build (Jenkins), with `pipeline run`'s permission for that pipeline.",
              responses=ACCEPTED)
    async def rerun(request: Request, run_id: Id) -> Response:
        identity = await kit.caller(request)
        pipeline_job(run_id)
        args: dict[str, object] = {"run": run_id}
        return await kit.once(request, identity, args,
                              lambda: kit.run(request, identity, RERUN_COMMAND, args, kit.approval_place))


__all__ = ["Kit", "include_pipelines", "param_text"]
