"""An app wired for pipelines: a catalog pointing at fake GitHub, GitLab and Jenkins servers, their
credentials stored as encrypted secrets, webhook secrets set, and fast polling."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.http import build_http
from dihya.pipelines.webhook import ci_routes
from dihya.settings import load_settings
from dihya.vault import generate_key
from tests.fakes.github_api import FakeGitHub
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.grafana_api import FakeGrafana
from tests.fakes.jenkins_api import FakeJenkins

GITHUB_TOKEN = "github_pat_11AAAAAAA0fake0token0for0tests"
GITLAB_TOKEN = "glpat-fake-api-token-0123"
GITLAB_TRIGGER = "glptt-fake-trigger-token-4567"
JENKINS_TOKEN = "11aa22bb33cc44dd55ee66ff77aa88bb99"
GRAFANA_TOKEN = "glsa_fake_grafana_token_0123456789"
HOOK_SECRET = "gh-webhook-secret-0123456789"
GITLAB_HOOK_TOKEN = "gitlab-hook-token-0123456789"
JENKINS_HOOK_TOKEN = "jenkins-hook-token-0123456789"
CI_CHANNEL = "console:ci"


@dataclass
class Fakes:
    github: FakeGitHub
    gitlab: FakeGitLab
    jenkins: FakeJenkins
    grafana: FakeGrafana


@contextmanager
def fakes(**github: Any) -> Iterator[Fakes]:
    started = Fakes(FakeGitHub(GITHUB_TOKEN, **github), FakeGitLab(GITLAB_TOKEN, GITLAB_TRIGGER),
                    FakeJenkins("dihya", JENKINS_TOKEN), FakeGrafana(GRAFANA_TOKEN))
    servers = (started.github, started.gitlab, started.jenkins, started.grafana)
    for server in servers:
        server.start()
    try:
        yield started
    finally:
        for server in servers:
            server.stop()


def config(f: Fakes, extra: str = "") -> str:
    return f"""
[pipelines.api-ci]
provider = "github"
project = "acme/api"
workflow = "ci.yml"
url = "{f.github.url}"
refs = ["main", "release/*"]
parameters = {{ version = "version", dry_run = "boolean", region = ["eu", "us"] }}
service = "api"
token_secret = "github_token"
correlation_input = "correlation"

[pipelines.api-gl]
provider = "gitlab"
project = "acme/api"
url = "{f.gitlab.url}"
refs = ["main"]
parameters = {{ version = "version" }}
token_secret = "gitlab_token"
trigger_token_secret = "gitlab_trigger"

[pipelines.api-deploy]
provider = "jenkins"
project = "api-deploy"
url = "{f.jenkins.url}"
refs = ["main"]
parameters = {{ version = "version" }}
environment = "production"
user = "dihya"
token_secret = "jenkins_token"

[ci]
channel = "{CI_CHANNEL}"
incident_on_default_branch_failure = true
[[ci.routes]]
match = {{ provider = "gitlab" }}
channel = "console:gitlab"
locale = "fr"
{extra}
"""


def pipeline_app(engine: Engine, tmp_path: Path, f: Fakes, extra: str = "", **overrides: object) -> App:
    path = tmp_path / "dihya.toml"
    path.write_text(config(f, extra))
    values: dict[str, object] = {
        "data_dir": tmp_path, "admins": ("console:admin1",), "rate_limit_per_minute": 0, "identity_cache_seconds": 0,
        "config_file": path, "secret_key": generate_key(), "pipeline_poll_seconds": 0.3,
        "github_webhook_secret": HOOK_SECRET, "gitlab_webhook_token": GITLAB_HOOK_TOKEN,
        "jenkins_webhook_token": JENKINS_HOOK_TOKEN, "grafana_url": f.grafana.url, "grafana_token": GRAFANA_TOKEN,
        **overrides}
    app = build_app(load_settings(**values), engine=engine)
    assert app.compliance is not None
    for name, value in (("github_token", GITHUB_TOKEN), ("gitlab_token", GITLAB_TOKEN),
                        ("gitlab_trigger", GITLAB_TRIGGER), ("jenkins_token", JENKINS_TOKEN)):
        app.compliance.secret_set(name, value, 0)
    app.watcher._interval = 0.05  # edit as often as the fakes change state
    return app


def signed(body: bytes, secret: str = HOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dumps(payload: object) -> bytes:
    return json.dumps(payload).encode()


@asynccontextmanager
async def hook_client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    assert app.ci is not None
    http = build_http(app, ci_routes(app.ci, app.settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=http), base_url="http://bot") as client:
        yield client
