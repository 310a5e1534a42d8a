"""The TOML settings file (``DIHYA_CONFIG_FILE``): RBAC matrix, approval policies, service catalog.

    [rbac]
    "deploy.prod" = ["devops", "admin"]      # permission → roles holding it

    [approvals."deploy.prod"]
    quorum = 1
    approvers = ["devops", "admin"]
    expiry_minutes = 30

    [services.web.production]                # how `deploy web to production` runs
    runner = "kubernetes"                    # ansible | docker | kubernetes
    namespace = "prod"
    deployment = "web"
    container = "web"
    image = "registry.example.org/web"
    # secrets = ["registry_password"]        # stored secrets passed to an Ansible runner's playbook
    # env = ["LOG_LEVEL=info"]               # docker: for the container a first deploy creates
    # ports = ["8080:80"]                    # docker: likewise ([IP:]HOST:CONTAINER[/tcp|udp])

    [playbooks]
    "restart-nginx" = "restart_nginx.yml"    # `playbook run restart-nginx` → content/playbooks/…

    [monitoring.status]                      # `status SERVER`: name → PromQL, "{instance}" quoted (issue 5)
    cpu = '100 * (1 - avg(rate(node_cpu_seconds_total{instance="{instance}",mode="idle"}[1m])))'
    [monitoring.instances]                   # server name → Prometheus instance label (default: the name)
    web-01 = "10.0.0.5:9100"
    [monitoring.grafana]                     # dashboard path per server, "*" for any (needs DIHYA_GRAFANA_URL)
    "*" = "d/rYdddlPWk/node-exporter-full"

    [workers]                                # jobs of an environment running at once, over all workers
    concurrency = { production = 1, staging = 4 }

    [inventory]                              # addresses refused unless listed (loopback, link-local, metadata…)
    allow_addresses = ["127.0.0.1", "fd00:1::/64", "localhost"]   # IPs, networks or host names

    [alerts]
    auto_incident = ["critical"]             # severity labels that open an incident by themselves
    [[alerts.routes]]                        # first match wins; otherwise DIHYA_ALERTS_CHANNEL
    match = { severity = "critical" }
    match_re = { instance = "db-.*" }
    channel = "slack:C0123"

    [pipelines.api-ci]                       # `pipeline run api-ci on main version=1.4.0` (issue 15)
    provider = "github"                      # github | gitlab | jenkins
    project = "acme/api"
    workflow = "ci.yml"
    refs = ["main", "release/*"]
    parameters = { version = "version", dry_run = "boolean", region = ["eu", "us"] }
    service = "api"                          # `deploy api …` is gated on this pipeline's runs
    token_secret = "github_token"
    [ci]                                     # provider webhooks' results
    channel = "slack:C0CI"
    [[ci.routes]]
    match = { repository = "acme/api", result = "failure" }
    channel = "slack:C0API"
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Any

from bot.addresses import AddressPolicy, IPNetwork, parse_address
from bot.alerting import AlertPolicy, Route  # issue 5
from bot.catalog import DEMO, RUNNERS, Deployment, ServiceCatalog
from bot.i18n import DEFAULT_LOCALE, LOCALES  # issue 5
from bot.monitoring import MonitoringConfig  # issue 5
from bot.pipelines import PARAM_KINDS, PROVIDERS, CiPolicy, ParamSpec, PipelineCatalog, PipelineSpec  # issue 15
from bot.rbac import ROLES, AccessPolicy, ApprovalPolicy
from dihya.monitoring.templates import NODE_STATUS_TEMPLATES, fill_template  # issue 5
from dihya.runners.steps import ENV_ENTRY, PORT_SPEC
from dihya.settings import Settings, SettingsError


def load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"DIHYA_CONFIG_FILE: cannot read {path}: {err}") from None


def access_policy(config: dict[str, Any]) -> AccessPolicy:
    grants = {perm: _roles(f"rbac.{perm}", roles) for perm, roles in config.get("rbac", {}).items()}
    approvals = {perm: _approval(perm, spec) for perm, spec in config.get("approvals", {}).items()}
    return AccessPolicy.from_config(grants, approvals)


def _roles(where: str, roles: object) -> frozenset[str]:
    if not isinstance(roles, list) or not all(r in ROLES for r in roles):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [{where}] must be a list of roles from {', '.join(ROLES)}")
    return frozenset(roles)


def _approval(permission: str, spec: object) -> ApprovalPolicy:
    if not isinstance(spec, dict):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [approvals.{permission}] must be a table")
    quorum = spec.get("quorum", 1)
    minutes = spec.get("expiry_minutes", 30)
    if not isinstance(quorum, int) or quorum < 1 or not isinstance(minutes, int) or minutes < 1:
        raise SettingsError(f"DIHYA_CONFIG_FILE: [approvals.{permission}] quorum and expiry_minutes must be ≥ 1")
    approvers = _roles(f"approvals.{permission}.approvers", spec.get("approvers", ["devops", "admin"]))
    return ApprovalPolicy(quorum, approvers, minutes * 60)


def address_policy(config: dict[str, Any]) -> AddressPolicy:
    """``[inventory] allow_addresses``: IP addresses, networks (CIDR) or host names the inventory
    may hold although they are loopback, link-local, metadata or otherwise refused addresses."""
    entries = _table(config, "inventory").get("allow_addresses", [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise SettingsError("DIHYA_CONFIG_FILE: [inventory] allow_addresses must be a list of strings")
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for entry in entries:
        try:
            if "%" not in entry:  # the stdlib takes a zone id here too; an allow-list entry has none
                networks.append(ipaddress.ip_network(entry))
                continue
        except ValueError:
            pass
        name = parse_address(entry)
        if name is None:
            raise SettingsError(f"DIHYA_CONFIG_FILE: [inventory] allow_addresses: {entry[:80]!r} is neither an IP "
                                "address, a network such as 10.0.0.0/8, nor a host name")
        names.add(name)
    return AddressPolicy(tuple(networks), frozenset(names))


def worker_limits(config: dict[str, Any]) -> dict[str, int]:
    """``[workers] concurrency = {production = 1, staging = 4}``: how many jobs of each environment
    may run at once, over all workers (issue 16); environments not named are not limited."""
    workers = config.get("workers", {})
    limits = workers.get("concurrency", {}) if isinstance(workers, dict) else None
    if not isinstance(limits, dict) or not all(
            isinstance(env, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 1
            for env, n in limits.items()):
        raise SettingsError("DIHYA_CONFIG_FILE: [workers] concurrency must map environments to whole numbers ≥ 1")
    return dict(limits)


def service_catalog(config: dict[str, Any]) -> ServiceCatalog:
    """The configured catalog; without ``[services]`` the demo catalog of the embedded default."""
    services = config.get("services")
    if services is None:
        return DEMO
    if not isinstance(services, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [services] must be a table of services")
    parsed = {name: _environments(name, envs) for name, envs in services.items()}
    playbooks = config.get("playbooks", {})
    if not isinstance(playbooks, dict) or not all(isinstance(v, str) for v in playbooks.values()):
        raise SettingsError("DIHYA_CONFIG_FILE: [playbooks] must map names to playbook files")
    return ServiceCatalog(parsed, playbooks)


def _environments(service: str, envs: object) -> dict[str, Deployment]:
    if not isinstance(envs, dict):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [services.{service}] must hold one table per environment")
    return {env: _deployment(service, env, spec) for env, spec in envs.items()}


def _deployment(service: str, env: str, spec: object) -> Deployment:
    where = f"[services.{service}.{env}]"
    if not isinstance(spec, dict) or spec.get("runner") not in RUNNERS:
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} needs runner = one of {', '.join(sorted(RUNNERS))}")
    timeout = spec.get("timeout_seconds", 900)
    if not isinstance(timeout, int) or timeout < 1:
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} timeout_seconds must be a positive integer")
    params = {k: str(v) for k, v in spec.items() if k not in ("runner", "timeout_seconds", "secrets", "env", "ports")}
    platform, sep, channel = params.get("channel", "x:y").partition(":")
    if not (sep and platform and channel):  # the service's chat channel, where its approvals are posted
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} channel must be PLATFORM:CHANNEL_ID, e.g. \"slack:C0123\"")
    return Deployment(service, env, str(spec["runner"]), params, timeout, _secret_names(where, spec),
                      _text_list(where, spec, "env"), _text_list(where, spec, "ports"))


def _text_list(where: str, spec: dict[str, Any], key: str) -> tuple[str, ...]:
    """A docker entry's ``env`` ("NAME=value") or ``ports`` ("[IP:]HOST:CONTAINER[/proto]") list."""
    values = spec.get(key, [])
    pattern = ENV_ENTRY if key == "env" else PORT_SPEC
    if not isinstance(values, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in values):
        example = '["NAME=value"]' if key == "env" else '["8080:80", "127.0.0.1:8443:443/tcp"]'
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} {key} must be a list like {example}")
    return tuple(values)


def _secret_names(where: str, spec: dict[str, Any]) -> tuple[str, ...]:
    names = spec.get("secrets", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} secrets must be a list of secret names")
    return tuple(names)


# -- monitoring and alerts (issue 5) -------------------------------------------------------------


def monitoring_config(config: dict[str, Any], grafana_url: str | None) -> MonitoringConfig:
    section = _table(config, "monitoring")
    status = {**NODE_STATUS_TEMPLATES, **_templates(section, "status")}
    graph = {**{k: v for k, v in NODE_STATUS_TEMPLATES.items() if k != "up"}, **_templates(section, "graph")}
    rows = section.get("query_rows", 20)
    if not isinstance(rows, int) or not 1 <= rows <= 200:
        raise SettingsError("DIHYA_CONFIG_FILE: [monitoring] query_rows must be a whole number from 1 to 200")
    return MonitoringConfig(status, graph, _strings(section, "instances"), grafana_url or "",
                            _strings(section, "grafana"), rows)


def _table(config: dict[str, Any], name: str) -> dict[str, Any]:
    found = config.get(name, {})
    if not isinstance(found, dict):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [{name}] must be a table")
    return found


def _strings(section: dict[str, Any], name: str) -> dict[str, str]:
    found = section.get(name, {})
    if not isinstance(found, dict) or not all(isinstance(v, str) and v for v in found.values()):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [monitoring.{name}] must map names to non-empty strings")
    return found


def _templates(section: dict[str, Any], name: str) -> dict[str, str]:
    templates = _strings(section, name)
    for key, template in templates.items():
        try:
            fill_template(template, "probe")
        except ValueError:
            raise SettingsError(f'DIHYA_CONFIG_FILE: [monitoring.{name}] {key} must contain "{{instance}}" '
                                f"in double quotes, e.g. up{{{{instance=\"{{instance}}\"}}}}") from None
    return templates


def alert_policy(config: dict[str, Any], settings: Settings) -> AlertPolicy:
    section = _table(config, "alerts")
    routes = section.get("routes", [])
    if not isinstance(routes, list):
        raise SettingsError("DIHYA_CONFIG_FILE: [[alerts.routes]] must be an array of tables")
    auto = section.get("auto_incident", [])
    if not isinstance(auto, list) or not all(isinstance(a, str) for a in auto):
        raise SettingsError("DIHYA_CONFIG_FILE: [alerts] auto_incident must be a list of severity labels")
    if settings.alerts_channel is not None:
        _channel("DIHYA_ALERTS_CHANNEL", settings.alerts_channel)
    return AlertPolicy(tuple(_route(n, r) for n, r in enumerate(routes, 1)), settings.alerts_channel,
                       frozenset(auto), _locale("[alerts] locale", section.get("locale", DEFAULT_LOCALE)),
                       settings.alert_storm_threshold, settings.alert_storm_window_seconds)


def _route(number: int, spec: object, section: str = "alerts.routes") -> Route:
    where = f"DIHYA_CONFIG_FILE: [[{section}]] #{number}"
    if not isinstance(spec, dict) or not isinstance(spec.get("channel"), str):
        raise SettingsError(f"{where} needs channel = \"PLATFORM:CHANNEL_ID\"")
    equal, regex = spec.get("match", {}), spec.get("match_re", {})
    if not all(isinstance(m, dict) and all(isinstance(v, str) for v in m.values()) for m in (equal, regex)):
        raise SettingsError(f"{where}: match and match_re must map label names to strings")
    try:
        compiled = {k: re.compile(v) for k, v in regex.items()}
    except re.error as err:
        raise SettingsError(f"{where}: match_re is not a valid regular expression: {err}") from None
    locale = spec.get("locale")
    return Route(_channel(where, spec["channel"]), equal, compiled,
                 None if locale is None else _locale(where, locale))


def _channel(where: str, address: str) -> str:
    platform, sep, channel = address.partition(":")
    if not sep or not platform or not channel:
        raise SettingsError(f"{where}: channel {address!r} must be PLATFORM:CHANNEL_ID, e.g. console:main")
    return address


def _locale(where: str, locale: object) -> str:
    if locale not in LOCALES:
        raise SettingsError(f"{where}: locale must be one of {', '.join(LOCALES)}")
    return str(locale)


# -- CI/CD pipelines (issue 15) ------------------------------------------------------------------


def pipeline_catalog(config: dict[str, Any]) -> PipelineCatalog:
    """``[pipelines.NAME]`` tables; see README "Pipelines"."""
    section = _table(config, "pipelines")
    return PipelineCatalog({name: _pipeline(name, spec) for name, spec in section.items()})


_PIPELINE_KEYS = frozenset({"provider", "project", "workflow", "refs", "parameters", "environment", "service",
                            "timeout_minutes", "url"})
_PIPELINE_OPTIONS = frozenset({"token_secret", "trigger_token_secret", "app_id", "installation_id",
                               "private_key_secret", "correlation_input", "user", "ref_parameter"})


def _pipeline(name: str, spec: object) -> PipelineSpec:
    where = f"DIHYA_CONFIG_FILE: [pipelines.{name}]"
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]{0,62}", name) is None:
        raise SettingsError(f"{where}: a pipeline name starts with a letter (letters, digits, . _ -)")
    if not isinstance(spec, dict) or spec.get("provider") not in PROVIDERS or not isinstance(spec.get("project"), str):
        raise SettingsError(f"{where} needs provider = one of {', '.join(sorted(PROVIDERS))} and project = \"…\"")
    unknown = set(spec) - _PIPELINE_KEYS - _PIPELINE_OPTIONS
    if unknown:
        raise SettingsError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    refs = spec.get("refs", ["main"])
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
        raise SettingsError(f"{where}: refs must be a non-empty list of branch or tag names (patterns allowed)")
    minutes = spec.get("timeout_minutes", 60)
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise SettingsError(f"{where}: timeout_minutes must be a whole number from 1 to 1440")
    if spec["provider"] == "github" and not isinstance(spec.get("workflow"), str):
        raise SettingsError(f"{where}: a GitHub pipeline needs workflow = \"ci.yml\"")
    if spec["provider"] == "jenkins" and not isinstance(spec.get("url"), str):
        raise SettingsError(f"{where}: a Jenkins pipeline needs url = \"https://jenkins.example.org\"")
    options = {k: str(v) for k, v in spec.items() if k in _PIPELINE_OPTIONS}
    return PipelineSpec(name, spec["provider"], spec["project"], str(spec.get("workflow", "")), tuple(refs),
                        _parameters(where, spec.get("parameters", {})), str(spec.get("environment", "")),
                        str(spec.get("service", "")), minutes * 60, str(spec.get("url", "")), options)


def _parameters(where: str, table: object) -> dict[str, ParamSpec]:
    if not isinstance(table, dict):
        raise SettingsError(f"{where}.parameters must map names to types")
    found: dict[str, ParamSpec] = {}
    for name, kind in table.items():
        if isinstance(kind, list) and kind and all(isinstance(v, str) for v in kind):
            found[name] = ParamSpec(name, "choice", tuple(kind))
        elif kind in PARAM_KINDS - {"choice"}:
            found[name] = ParamSpec(name, str(kind))
        else:
            kinds = ", ".join(sorted(PARAM_KINDS - {"choice"}))
            raise SettingsError(f"{where}.parameters: {name} must be one of {kinds} or a list of allowed values")
    return found


def ci_policy(config: dict[str, Any], settings: Settings) -> CiPolicy:
    """``[ci]``: where provider webhooks' results go (routes as ``[[alerts.routes]]``, on the labels
    provider, repository, branch, result, event, pipeline) and whether a red default branch opens an incident."""
    section = _table(config, "ci")
    routes = section.get("routes", [])
    if not isinstance(routes, list):
        raise SettingsError("DIHYA_CONFIG_FILE: [[ci.routes]] must be an array of tables")
    channel = section.get("channel", settings.alerts_channel)
    if channel is not None:
        _channel("DIHYA_CONFIG_FILE: [ci] channel", str(channel))
    incident = section.get("incident_on_default_branch_failure", False)
    if not isinstance(incident, bool):
        raise SettingsError("DIHYA_CONFIG_FILE: [ci] incident_on_default_branch_failure must be true or false")
    return CiPolicy(tuple(_route(n, r, "ci.routes") for n, r in enumerate(routes, 1)),
                    None if channel is None else str(channel),
                    _locale("[ci] locale", section.get("locale", DEFAULT_LOCALE)), incident)
