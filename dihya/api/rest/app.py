"""``/api/it_devops/``: FastAPI routes that turn requests into the core's commands (``Bot.invoke``,
``Bot.vote``), so the API gets chat's RBAC, approval policies, rate limit, jobs and audit chain.

The token names a person (``dihya.api.auth``); roles are looked up on every request. Every call is
audited (``api:<METHOD> <route>``, the actor's pseudonym, the status). Errors are RFC 9457 problems in
the language of ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

import anyio
from fastapi import Body, FastAPI, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bot.actions import Action, Upload
from bot.core import TOO_MANY, Bot, Invoked, Outcome
from bot.events import Message, Place, Sender
from bot.i18n import N_, Msg
from bot.identity import Actor
from bot.rbac import GUEST, Decision
from dihya.api.auth import Authenticator
from dihya.api.rest import resources
from dihya.api.rest.audit_trail import PSEUDONYM, AuditTrail
from dihya.api.rest.context import CALLER, CLAIMED_ROLES, ApiProblem, Pending, Rest
from dihya.api.rest.docs import add_docs
from dihya.api.rest.idempotency import HEADER, Idempotency, KeyReused
from dihya.api.rest.mount import service_channel
from dihya.api.rest.openapi import COMMON, Cursor, Id, correct_openapi, problem_responses
from dihya.api.rest.pipelines import Kit, include_pipelines  # issue 15
from dihya.api.rest.problems import Problems, locale_of
from dihya.api.verdict import Authenticated
from dihya.app import App

PREFIX = "/api/it_devops"
PLATFORM = "api"
SSE_POLL_S = 0.2
SSE_EXAMPLE = 'event: progress\ndata: {"state": "running", "step": 2, "total": 4}\n\n'


class ApiPerformer:
    """The API's "platform": replies meant for the caller are answered over HTTP, so what the core
    would post there (a job's status message and its edits) is only given an id."""

    platform = PLATFORM

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def perform(self, action: Action, target: str | None) -> str | None:  # noqa: ARG002
        return f"api-{next(self._ids)}"


# -- request and response bodies (their examples feed the OpenAPI document) ------------------------
class DeploymentRequest(BaseModel):
    service: str = Field(min_length=1, max_length=100, examples=["backend-django"])
    environnement: str = Field(min_length=1, max_length=40, examples=["production"])
    version: str = Field(default="latest", min_length=1, max_length=100, examples=["v1.2.3"])

    model_config = {"json_schema_extra": {"examples": [
        {"service": "backend-django", "environnement": "production", "version": "v1.2.3"}]}}


class ScriptRequest(BaseModel):
    nom: str = Field(min_length=1, max_length=200, examples=["deploy_app.yml"])
    cible: str | None = Field(default=None, max_length=200, examples=["all"])
    parametres: dict[str, str | int | float | bool] | None = Field(default=None, examples=[{"version": "v4"}])

    model_config = {"json_schema_extra": {"examples": [{"nom": "deploy_app.yml", "cible": "all"}]}}


class Accepted(BaseModel):
    status: Literal["job", "approval"]
    id: int
    url: str

    model_config = {"json_schema_extra": {"examples": [{"status": "job", "id": 7, "url": "/api/it_devops/jobs/7"}]}}


class JobView(BaseModel):
    id: int
    kind: str
    state: str
    step: int
    total: int
    step_name: str
    summary: str
    cancel_requested: bool

    model_config = {"json_schema_extra": {"examples": [{
        "id": 7, "kind": "deploy", "state": "running", "step": 2, "total": 4, "step_name": "Copy the release",
        "summary": "deploy web to staging version v2", "cancel_requested": False}]}}


class ApprovalView(BaseModel):
    id: int
    command: str
    args: dict[str, str]
    requester: str
    state: str
    quorum: int
    expires_us: int

    model_config = {"json_schema_extra": {"examples": [{
        "id": 3, "command": "deploy", "args": {"service": "web", "env": "production", "version": "v1.2.3"},
        "requester": "console:dev1", "state": "pending", "quorum": 1, "expires_us": 1767225600000000}]}}


class ApprovalPage(BaseModel):
    items: list[ApprovalView]
    next_cursor: int | None = None


class VoteRequest(BaseModel):
    decision: Literal["approve", "deny"] = Field(examples=["approve"])


class VoteResult(BaseModel):
    id: int
    state: str

    model_config = {"json_schema_extra": {"examples": [{"id": 3, "state": "dispatched"}]}}


class AuditCheck(BaseModel):
    intact: bool
    message: str

    model_config = {"json_schema_extra": {"examples": [{"intact": True,
                                                       "message": "Audit log intact: 42 rows, chain verified."}]}}


def allowed_methods(api: FastAPI, request: Request) -> set[str]:
    """Every method the OpenAPI document declares at the request's path: routes of several modules
    may share a path (``GET`` and ``POST deploiements/``), and Starlette names only the first's."""
    path = request.url.path.removeprefix(PREFIX) or "/"
    methods: set[str] = set()
    for template, operations in api.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            methods |= {method.upper() for method in operations}
    return methods


# -------------------------------------------------------------------------------------------------
def build_api(app: App, authenticator: Authenticator,  # noqa: PLR0915 - the routes, declared in one place
              approval_place: Place | None = None) -> FastAPI:
    """The API over ``app``'s core; approvals it asks for are posted at ``approval_place``."""
    bot, store, runtime = app.bot, app.store, app.runtime
    problems = Problems(bot.services.catalogs)
    if PLATFORM not in runtime._adapters:
        runtime.attach(ApiPerformer())
    api = FastAPI(
        title="Dihya IT & DevOps", version="1",
        description="Deployments, jobs, approvals and inventory of Dihya over HTTP: the same commands, roles, "
                    "approval policies and audit chain as chat. Send `Authorization: Bearer <token>` "
                    "(`dihya token create`).",
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,
        responses=COMMON,
    )
    add_docs(api)
    correct_openapi(api)

    @api.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> Response:
        return problems.response(request, exc.status, exc.lines, exc.headers)

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:  # no route, wrong method, unreadable body
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the first route's methods; resources share paths
            headers["Allow"] = ", ".join(sorted(allowed_methods(api, request)))
        return problems.response(request, exc.status_code, (), headers)

    @api.exception_handler(Pending)
    async def _pending(request: Request, exc: Pending) -> Response:
        return exc.response()

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "type": e["type"]}
                  for e in exc.errors()]
        lines = tuple(Msg(N_("Invalid field: {field}."), {"field": e["field"]}) for e in errors)
        return problems.response(request, 422, lines, errors=errors)

    api.add_middleware(AuditTrail, bot=bot, runtime=runtime)

    async def caller(request: Request) -> str:
        """The identity key behind the bearer token, or a 401 problem with ``WWW-Authenticate``."""
        header = request.headers.get("authorization")
        verdict = authenticator.authenticate_offline(header)  # a thread hop cost a third of a GET
        if verdict is None:  # the provider's token: fetching its keys blocks
            verdict = await anyio.to_thread.run_sync(authenticator.authenticate, header)
        if not isinstance(verdict, Authenticated):
            raise ApiProblem(verdict.status, Msg(N_("The bearer token is missing or not valid.")),
                             headers={"WWW-Authenticate": verdict.www_authenticate})
        actor = bot.services.identities.fresh(verdict.identity)  # roles afresh, once per request
        setattr(request.state, PSEUDONYM, actor.pseudonym)  # the audit trail's actor
        CALLER.set(actor)
        CLAIMED_ROLES.set(verdict.claim_roles)
        return verdict.identity

    def person(identity: str) -> Actor:
        """The person behind ``identity`` as ``caller`` read them for this request (roles afresh)."""
        actor = CALLER.get()
        return actor if actor is not None and actor.key == identity else bot.services.identities.fresh(identity)

    def require(identity: str, command: str, args: dict[str, object] | None = None) -> None:
        """429 past the rate limit, else 403 unless the person may run ``command`` (a read endpoint's chat
        equivalent)."""
        if bot.throttled(identity, Place(PLATFORM, identity)):
            raise ApiProblem(429, Msg(TOO_MANY), headers={"Retry-After": str(round(bot.rate_window))})
        roles = person(identity).roles | CLAIMED_ROLES.get()
        permission = bot.services.registry.commands[command].permission_for(args or {})
        if bot.services.policy.decide(roles, permission) is Decision.DENY:
            raise ApiProblem(403, Msg(N_("You are not allowed to do that (needs “{permission}”; your roles: "
                                         "{roles})."), {"permission": permission,
                                                        "roles": ", ".join(sorted(roles) or [GUEST])}))

    async def run(request: Request, identity: str, name: str, args: dict[str, object],
                  approvals_at: Place | None = None, answer_here: bool = False, at: Place | None = None) -> Invoked:
        place = at or Place(PLATFORM, identity)  # ``at``: a chat place that should see the replies
        invoked = bot.invoke(person(identity), name, args, place, locale_of(request), approvals_at, CLAIMED_ROLES.get())
        outcome = invoked.outcome
        if answer_here:  # its deferred work is awaited by the route, not the runtime
            outcome = Outcome(outcome.actions, outcome.durable)
        await runtime.deliver(invoked.event, outcome)
        if invoked.status == "throttled":
            raise ApiProblem(429, *invoked.lines, headers={"Retry-After": str(round(bot.rate_window))})
        if invoked.status == "denied":
            raise ApiProblem(403, *invoked.lines)
        if invoked.status == "invalid":
            raise ApiProblem(422, *invoked.lines)
        if invoked.status == "unknown":
            raise ApiProblem(404)
        if invoked.status == "fault":
            raise ApiProblem(500, *invoked.lines)
        return invoked

    idempotency = Idempotency(store)

    async def once(request: Request, identity: str, body: dict[str, object],
                   start: Callable[[], Awaitable[Invoked]]) -> JSONResponse:
        """``start`` once per ``Idempotency-Key`` (when sent) and body; a repeat gets the first answer."""
        key = request.headers.get(HEADER)
        if key is None:
            return accepted(await start())
        if not Idempotency.valid(key):
            raise ApiProblem(400, Msg(N_("The Idempotency-Key header must be 1 to 200 printable ASCII characters.")))
        signed = {"route": request.url.path, **body}
        try:
            first = idempotency.recall(identity, key, signed)
        except KeyReused:
            raise ApiProblem(422, Msg(N_("This Idempotency-Key was used with another request body."))) from None
        if first is not None:
            return JSONResponse(first.body, status_code=first.status, headers={"Location": first.location})
        response = accepted(await start())
        idempotency.remember(identity, key, signed, response.status_code, json.loads(bytes(response.body)),
                             response.headers["Location"])
        return response

    def accepted(invoked: Invoked) -> JSONResponse:
        kind, _, number = invoked.ref.partition(":")
        if kind == "job":
            body = Accepted(status="job", id=int(number), url=f"{PREFIX}/jobs/{number}")
        else:
            body = Accepted(status="approval", id=int(number), url=f"{PREFIX}/approbations/{number}")
        return JSONResponse(body.model_dump(), status_code=202, headers={"Location": body.url})

    # -- deploiements ------------------------------------------------------------------------------
    @api.post("/deploiements/", status_code=202, response_model=Accepted, tags=["deploiements"],
              summary="Deploy a version of a service",
              description="Staging starts a job (202, `Location` of the job); production asks for approval "
                          "in the service's chat channel (202, `Location` of the approval request).")
    async def deploy(request: Request, body: DeploymentRequest) -> Response:
        identity = await caller(request)
        args: dict[str, object] = {"service": body.service, "env": body.environnement, "version": body.version}
        where = service_channel(bot.services.catalog, body.service, body.environnement) or approval_place
        return await once(request, identity, args, lambda: run(request, identity, "deploy", args, where))

    # -- scripts -----------------------------------------------------------------------------------
    @api.post("/scripts/", status_code=202, response_model=Accepted, tags=["scripts"],
              summary="Run a script or playbook from the catalog",
              description="Like `script run` in chat: 202 with the job's `Location`, or the approval's when "
                          "the script's permission needs one.")
    async def script(request: Request, body: ScriptRequest) -> Response:
        from commands.scripts import RUN, api_args

        identity = await caller(request)
        args = api_args(body.nom, body.cible, body.parametres)
        return await once(request, identity, args, lambda: run(request, identity, RUN, args, approval_place))

    # -- jobs --------------------------------------------------------------------------------------
    def job_view(job_id: int) -> JobView:
        job = store.job(job_id)
        if job is None:
            raise ApiProblem(404, Msg(N_("There is no job #{id}."), {"id": job_id}))
        return JobView(id=job.id, kind=job.draft.kind, state=job.state, step=job.step, total=job.total,
                       step_name=job.step_name, summary=job.draft.summary, cancel_requested=job.cancel_requested)

    @api.get("/jobs/{job_id}", response_model=JobView, tags=["jobs"], responses=problem_responses(404),
             summary="A job's state and progress",
             description="The job's kind, state (queued, running, succeeded, failed, cancelled) and current step.")
    async def job(request: Request, job_id: Id) -> JobView:
        require(await caller(request), "job.show")
        return job_view(job_id)

    @api.post("/jobs/{job_id}/cancel", status_code=202, response_model=JobView, tags=["jobs"],
              responses=problem_responses(404),
              summary="Ask a job to stop", description="Same rights as `cancel` in chat; answers the job.")
    async def cancel(request: Request, job_id: Id) -> JobView:
        identity = await caller(request)
        job_view(job_id)
        await run(request, identity, "job.cancel", {"id": job_id})
        return job_view(job_id)

    @api.get("/jobs/{job_id}/log", tags=["jobs"], summary="A job's full output",
             description="Like `job log N` in a direct message: the whole output the job kept (bounded, "
                         "redacted), as text.", response_class=Response,
             responses={200: {"content": {"text/plain": {"example": "disk usage of /tmp\n4.0K\t/tmp/a\n"}}},
                        **problem_responses(403, 404)})
    async def job_log(request: Request, job_id: Id) -> Response:
        identity = await caller(request)
        job_view(job_id)
        place = Place(PLATFORM, identity, direct=True)  # the answer goes to the caller alone
        invoked = bot.invoke(person(identity), "job.log", {"id": job_id}, place, locale_of(request))
        uploads = [a for a in invoked.outcome.actions if isinstance(a, Upload)]
        if invoked.status == "denied":
            raise ApiProblem(403, *invoked.lines)
        if not uploads:
            raise ApiProblem(404, *invoked.lines)
        content = uploads[0].content
        body = content if isinstance(content, bytes) else await anyio.to_thread.run_sync(content.read_bytes)
        return Response(body, media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{uploads[0].filename}"'})

    @api.get("/jobs/{job_id}/events", tags=["jobs"], summary="Server-sent events of a job's progress",
             description="One `progress` event per state or step change, until the job ends.",
             response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {"example": SSE_EXAMPLE}}}, **problem_responses(404)})
    async def events(request: Request, job_id: Id) -> StreamingResponse:
        require(await caller(request), "job.show")
        job_view(job_id)

        async def stream() -> AsyncIterator[bytes]:
            last: tuple[str, int, str] | None = None
            while True:
                view = job_view(job_id)
                seen = (view.state, view.step, view.step_name)
                if seen != last:
                    last = seen
                    yield f"event: progress\ndata: {json.dumps(view.model_dump())}\n\n".encode()
                if view.state in ("succeeded", "failed", "cancelled", "timed_out", "lost"):
                    yield b"event: end\ndata: {}\n\n"
                    return
                await asyncio.sleep(SSE_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    # -- approbations ------------------------------------------------------------------------------
    @api.get("/approbations/", response_model=ApprovalPage, tags=["approbations"], summary="Pending approvals",
             description="Pending requests, oldest first; `limit` and `cursor` page through them (`Link: rel=next`).")
    async def pending(request: Request, response: Response, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                      cursor: Cursor = 0) -> ApprovalPage:
        require(await caller(request), "approvals")
        records = sorted((r for r in store.pending_approvals() if r.id > cursor), key=lambda r: r.id)
        page = records[:limit]
        items = [ApprovalView(id=r.id, command=r.draft.command, args={k: str(v) for k, v in r.draft.args.items()},
                              requester=r.draft.requester, state=r.state, quorum=r.draft.quorum,
                              expires_us=r.draft.expires_us) for r in page]
        following = page[-1].id if len(records) > limit else None
        if following is not None:
            response.headers["Link"] = f'<{PREFIX}/approbations/?limit={limit}&cursor={following}>; rel="next"'
        return ApprovalPage(items=items, next_cursor=following)

    @api.post("/approbations/{approval_id}/votes", response_model=VoteResult, tags=["approbations"],
              responses=problem_responses(404),
              summary="Vote on an approval request",
              description="Counts like a ✅/❌ reaction in chat: the same approver roles, two-person rule and quorum.")
    async def vote(request: Request, approval_id: Id,
                   body: Annotated[VoteRequest, Body(examples=[{"decision": "approve"}])]) -> VoteResult:
        identity = await caller(request)
        voted = bot.vote(approval_id, person(identity), body.decision == "approve", CLAIMED_ROLES.get())
        if voted is None:
            raise ApiProblem(404, Msg(N_("There is no approval request #{id}."), {"id": approval_id}))
        record = store.approval(approval_id)
        assert record is not None
        place = record.draft.place
        event = Message(f"vote-{approval_id}-{identity}", Sender(*identity.partition(":")[::2]), place, "", "")
        await runtime.deliver(event, voted.outcome)
        if voted.refusal is not None:
            raise ApiProblem(403, voted.refusal)
        return VoteResult(id=approval_id, state=voted.state)

    # -- audits ------------------------------------------------------------------------------------
    @api.get("/audits/verify", response_model=AuditCheck, tags=["audits"], summary="Verify the audit chain",
             description="Like `audit verify` in chat: recomputes the hash chain (and the anchored tail).")
    async def audit_verify(request: Request) -> AuditCheck:
        identity = await caller(request)
        invoked = await run(request, identity, "audit.verify", {}, answer_here=True)
        intact, lines = True, list(invoked.lines)
        for later in invoked.outcome.later:  # the command's work, run here so its answer is the response
            reply = await anyio.to_thread.run_sync(Bot.run_later, later)
            await runtime.deliver(invoked.event, bot.finish(later, reply))
            intact, lines = intact and reply.outcome == "ok", lines + list(reply.lines)
        text = bot.services.catalogs.render_all(tuple(lines), locale_of(request))
        return AuditCheck(intact=intact, message=text)

    # -- inventaire (serveurs/ is dihya.api.rest.servers) --------------------------------------------
    @api.get("/inventaire/", tags=["inventaire"], summary="Ansible dynamic inventory",
             description="The servers as the JSON `ansible-inventory -i` reads: groups per environment, "
                         "`ansible_host` in `_meta.hostvars`.",
             responses={200: {"content": {"application/json": {"example": {
                 "all": {"children": ["production"]}, "production": {"hosts": ["web1"]},
                 "_meta": {"hostvars": {"web1": {"ansible_host": "10.0.0.5"}}}}}}}})
    async def inventory(request: Request) -> dict[str, Any]:
        require(await caller(request), "servers.list")
        groups: dict[str, list[str]] = {}
        hostvars: dict[str, dict[str, str]] = {}
        for s in store.servers():
            groups.setdefault(s.environment, []).append(s.name)
            hostvars[s.name] = {"ansible_host": s.address}
        body: dict[str, Any] = {"all": {"children": sorted(groups)}, "_meta": {"hostvars": hostvars}}
        body.update({env: {"hosts": hosts} for env, hosts in groups.items()})
        return body

    include_pipelines(api, bot, Kit(caller, require, run, once, ApiProblem, approval_place))  # issue 15
    from dihya.api.rest.reports import add_report_routes  # issue 17: rapports/, webhooks/
    add_report_routes(api, app, caller, require)
    rest = Rest(bot, store, runtime, caller, require, run, once, approval_place, app.redactor)
    for resource in resources.ROUTERS:  # one module per resource (dihya.api.rest.resources)
        api.include_router(resource(rest))
    return api
