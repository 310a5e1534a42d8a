"""``deploiements/``: the deploys and rollbacks Dihya ran (list, detail) and ``{id}/rollback``, which
goes through the chat ``rollback`` command (production asks for approval: 202 with its URL).
``POST deploiements/`` (a new deploy) is declared in ``dihya.api.rest.app``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bot.i18n import N_, Msg
from bot.jobs import JobRecord
from dihya.api.rest.context import MAX_ID, PROBLEMS, ApiProblem, Rest, page

KINDS = frozenset({"deploy", "rollback"})
SCANNED = 2000  # the most recent jobs a listing looks through (older ones are in the audit log)
DEPLOYMENT_ID = Annotated[int, Path(ge=1, le=MAX_ID, examples=[7])]
State = Literal["queued", "running", "succeeded", "failed", "refused", "cancelled", "timed_out"]


class DeploymentView(BaseModel):
    id: int
    kind: Literal["deploy", "rollback"]
    service: str
    environnement: str
    version: str | None
    state: str
    requester: str
    created_us: int
    finished_us: int | None
    job_url: str

    model_config = {"json_schema_extra": {"examples": [{
        "id": 7, "kind": "deploy", "service": "backend-django", "environnement": "production", "version": "v1.2.3",
        "state": "succeeded", "requester": "console:dev1", "created_us": 1767225600000000,
        "finished_us": 1767225660000000, "job_url": "/api/it_devops/jobs/7"}]}}


class DeploymentPage(BaseModel):
    items: list[DeploymentView]
    next_cursor: int | None = None


def view(job: JobRecord) -> DeploymentView:
    args = job.draft.args
    version = args.get("version")
    return DeploymentView(id=job.id, kind="rollback" if job.draft.kind == "rollback" else "deploy",
                          service=str(args.get("service", "")), environnement=str(args.get("env", "")),
                          version=None if version is None else str(version), state=job.state,
                          requester=job.draft.requester, created_us=job.created_us, finished_us=job.finished_us,
                          job_url=f"/api/it_devops/jobs/{job.id}")


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["deploiements"], responses=PROBLEMS)

    def deployment(deployment_id: int) -> JobRecord:
        job = rest.store.job(deployment_id)
        if job is None or job.draft.kind not in KINDS:
            raise ApiProblem(404, Msg(N_("There is no deployment #{id}."), {"id": deployment_id}))
        return job

    @api.get("/deploiements/", response_model=DeploymentPage, summary="Deployments and rollbacks",
             description="Newest first. Filters: `service`, `environnement`, `state`; `limit` and `cursor` page "
                         "through them (`Link: rel=next`).")
    async def deployments(request: Request, response: Response,
                          service: Annotated[str | None, Query(max_length=100, examples=["backend-django"])] = None,
                          environnement: Annotated[str | None, Query(max_length=40, examples=["staging"])] = None,
                          state: Annotated[State | None, Query(examples=["succeeded"])] = None,
                          limit: Annotated[int, Query(ge=1, le=100)] = 20,
                          cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> DeploymentPage:
        rest.require(await rest.caller(request), "jobs")
        found = [j for j in rest.store.jobs(states=None if state is None else frozenset({state}), limit=SCANNED)
                 if j.draft.kind in KINDS and (not cursor or j.id < cursor)
                 and service in (None, j.draft.args.get("service"))
                 and environnement in (None, j.draft.args.get("env"))]
        chosen, following = page(request, response, found, limit, lambda j: j.id)
        return DeploymentPage(items=[view(j) for j in chosen], next_cursor=following)

    @api.get("/deploiements/{deploiement_id}", response_model=DeploymentView, summary="One deployment",
             description="A deploy or rollback by id (its job's id); its progress is at `job_url`.")
    async def detail(request: Request, deploiement_id: DEPLOYMENT_ID) -> DeploymentView:
        rest.require(await rest.caller(request), "job.show")
        return view(deployment(deploiement_id))

    @api.post("/deploiements/{deploiement_id}/rollback", status_code=202, response_model=None,
              summary="Roll back the service of a deployment",
              description="Like `rollback SERVICE in ENV` in chat, for this deployment's service and environment: "
                          "back to the version deployed before the current one. Staging starts a job (202, "
                          "`Location` of the job); production asks for approval in chat (202, `Location` of the "
                          "approval request). `Idempotency-Key` is honoured.",
              responses={202: {"description": "A job or an approval request", "content": {"application/json": {
                  "example": {"status": "approval", "id": 3, "url": "/api/it_devops/approbations/3"}}}}})
    async def rollback(request: Request, deploiement_id: DEPLOYMENT_ID) -> Response:
        identity = await rest.caller(request)
        job = deployment(deploiement_id)  # the rollback command checks the permission (and the rate limit)
        args: dict[str, object] = {"service": job.draft.args["service"], "env": job.draft.args["env"]}
        return await rest.once(request, identity, {"rollback_of": deploiement_id, **args},
                               lambda: rest.run(request, identity, "rollback", args, rest.approval_place))

    return api
