"""deploy, rollback, restart, scale: change what runs where. Production needs approval."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.argtypes import Integer, Name, Text
from bot.catalog import Deployment
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_
from bot.pipelines import blocking_run
from bot.registry import Arg, ByArgument, Command, Reply
from commands.common import ENVIRONMENT, refuse_if_locked, start_job

DEFAULT_VERSION = "latest"


def _supported(ctx: Context, kind: str, args: Mapping[str, object]) -> Deployment:
    """The catalog entry for the service and environment, refusing a kind its runner cannot do."""
    service, env = str(args["service"]), str(args["env"])
    target = ctx.services.catalog.deployment(service, env)
    if target.supports(kind):
        return target
    if target.runner == "ansible":
        raise UserError(N_("{service} in {env} has no playbook for “{kind}”."), service=service, env=env, kind=kind)
    raise UserError(N_("“{kind}” is not supported for {runner} services yet."), kind=kind, runner=target.runner)


def _precheck(kind: str) -> Callable[[Context, Mapping[str, object]], None]:
    def check(ctx: Context, args: Mapping[str, object]) -> None:
        _supported(ctx, kind, args)
        refuse_if_locked(ctx, kind, args)  # issue 16: told now, not after the approval

    return check


def deploy(ctx: Context, args: Mapping[str, object]) -> Reply:
    service, env = str(args["service"]), str(args["env"])
    version = str(args.get("version") or DEFAULT_VERSION)
    target = _supported(ctx, "deploy", args)
    gate = _gate(ctx, service, version, str(args.get("override") or ""))
    job_args = {"service": service, "env": env, "version": version}
    reply = start_job(ctx, "deploy", job_args, target.timeout_s)
    reply.details = gate
    return reply


def _gate(ctx: Context, service: str, version: str, override: str) -> dict[str, object]:
    """Refuse a deploy whose version's newest pipeline run failed or is still running (issue 15);
    an admin may go ahead with a reason, which the audit row keeps with the run that blocked."""
    runs = ctx.services.pipeline_runs
    blocking = blocking_run(runs.pipeline_runs(service=service, limit=200), version) if runs is not None else None
    if blocking is None:
        return {}
    if not override:
        raise UserError(_BLOCKED[blocking.state if blocking.state in _BLOCKED else "failed"],
                        run=blocking.label, version=version, url=blocking.url or "-")
    if not ctx.services.policy.holds(ctx.actor.roles, "deploy.override_gate"):
        raise UserError(N_("Only an admin may override a deploy gate."))
    return {"gate_override": override, "blocked_by": blocking.label, "blocked_state": blocking.state}


_BLOCKED = {
    "failed": N_("Deploy refused: pipeline run {run} for {version} failed ({url}). An admin may add "
                 "“override REASON”."),
    "cancelled": N_("Deploy refused: pipeline run {run} for {version} was cancelled ({url}). An admin may add "
                    "“override REASON”."),
    "running": N_("Deploy refused: pipeline run {run} for {version} is still running ({url}). Wait for it, or an "
                  "admin may add “override REASON”."),
    "queued": N_("Deploy refused: pipeline run {run} for {version} is still running ({url}). Wait for it, or an "
                 "admin may add “override REASON”."),
}


def rollback(ctx: Context, args: Mapping[str, object]) -> Reply:
    service, env = str(args["service"]), str(args["env"])
    target = _supported(ctx, "rollback", args)
    job_args: dict[str, object] = {"service": service, "env": env}
    if target.runner == "ansible":  # containers remember their previous image; playbooks need the version
        job_args["version"] = _previous_version(ctx, service, env)
    return start_job(ctx, "rollback", job_args, target.timeout_s)


def _previous_version(ctx: Context, service: str, env: str) -> str:
    """The version deployed before the current one, from the record of succeeded deploys."""
    versions: list[str] = []
    for job in ctx.services.store.jobs(states=frozenset({"succeeded"}), limit=500):
        a = job.draft.args
        if job.draft.kind == "deploy" and a.get("service") == service and a.get("env") == env:
            version = str(a.get("version"))
            if not versions or versions[-1] != version:
                versions.append(version)
    if len(versions) < 2:
        raise UserError(N_("Nothing to roll back to: {service} has no earlier deploy in {env}."),
                        service=service, env=env)
    return versions[1]


def restart(ctx: Context, args: Mapping[str, object]) -> Reply:
    service, env = str(args["service"]), str(args["env"])
    target = _supported(ctx, "restart", args)
    return start_job(ctx, "restart", {"service": service, "env": env}, target.timeout_s)


def scale(ctx: Context, args: Mapping[str, object]) -> Reply:
    service, env, replicas = str(args["service"]), str(args["env"]), int(str(args["replicas"]))
    target = _supported(ctx, "scale", args)
    return start_job(ctx, "scale", {"service": service, "env": env, "replicas": replicas}, target.timeout_s)


_SERVICE = Arg("service", Name(), N_("service"))
_ENV = Arg("env", ENVIRONMENT, N_("environment"))
_BY_ENV = ByArgument("env", {"production": "deploy.prod"}, "deploy.nonprod")

COMMANDS = (
    Command(
        name="deploy",
        phrases={"en": ("deploy {service} to {env} [version {version}] [override {override}]",),
                 "fr": ("déployer {service} en {env} [version {version}] [forcer {override}]",
                        "déployer {service} sur {env} [version {version}] [forcer {override}]"),
                 "ar": ("انشر {service} إلى {env} [إصدار {version}] [تجاوز {override}]",
                        "نشر {service} إلى {env} [إصدار {version}] [تجاوز {override}]"),
                 "tzm": ("ⵙⵙⵓⴼⵖ {service} ⵖⵔ {env} [ⵜⴰⵍⵖⴰ {version}] [ⵣⴳⵔ {override}]",)},
        args=(_SERVICE, _ENV, Arg("version", Name(), N_("version"), optional=True),
              Arg("override", Text(max_length=300), N_("reason to override the pipeline gate"), optional=True)),
        permission=_BY_ENV,
        help=N_("Deploy a version of a service to an environment (production needs approval); refused while "
                "that version's pipeline is red or running, unless an admin adds “override REASON”."),
        handler=deploy,
        job=True,
        check=_precheck("deploy"),
        mutating=True,
        examples=("deploy web to staging version v1.2.3", "deploy web to production version v1.2.3"),
    ),
    Command(
        name="rollback",
        phrases={"en": ("rollback {service} in {env}",), "fr": ("annuler {service} en {env}",),
                 "ar": ("تراجع {service} في {env}",), "tzm": ("ⵓⵖⴰⵍ {service} ⴳ {env}",)},
        args=(_SERVICE, _ENV),
        permission=_BY_ENV,
        help=N_("Go back to the previously deployed version (production needs approval)."),
        handler=rollback,
        job=True,
        check=_precheck("rollback"),
        mutating=True,
        examples=("rollback web in staging", "rollback web in production"),
    ),
    Command(
        name="restart",
        phrases={"en": ("restart {service} in {env}",), "fr": ("redémarrer {service} en {env}",),
                 "ar": ("أعد تشغيل {service} في {env}",), "tzm": ("ⴰⵍⵙ ⴰⵙⵏⴽⵔ {service} ⴳ {env}",)},
        args=(_SERVICE, _ENV),
        permission="ops.run",
        help=N_("Restart a service (needs approval)."),
        handler=restart,
        job=True,
        check=_precheck("restart"),
        mutating=True,
        examples=("restart web in staging",),
    ),
    Command(
        name="scale",
        phrases={"en": ("scale {service} in {env} to {replicas}",),
                 "fr": ("dimensionner {service} en {env} à {replicas}",),
                 "ar": ("وسع {service} في {env} إلى {replicas}",),
                 "tzm": ("ⵙⵎⵖⵔ {service} ⴳ {env} ⵖⵔ {replicas}",)},
        args=(_SERVICE, _ENV, Arg("replicas", Integer(0, 100), N_("number of replicas"))),
        permission="ops.run",
        help=N_("Change how many replicas of a service run (needs approval)."),
        handler=scale,
        job=True,
        check=_precheck("scale"),
        mutating=True,
        examples=("scale web in staging to 3",),
    ),
)
