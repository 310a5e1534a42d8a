"""The Docker runner through the whole bot: chat → job → real engine (Podman) and registry → status message.

SQLite only: the runner, not the store, is under test here (the store's job states are run on both
databases elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest

from dihya.app import App, build_app
from dihya.integrity import Manifest
from dihya.settings import Settings, load_settings
from tests.helpers.databases import database
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job
from tests.servers.podman import PodmanEngine

pytestmark = pytest.mark.slow

CATALOG = """
[services.shop.staging]
runner = "docker"
container = "shop"
image = "{repository}"
env = ["DB_URL=postgres://db/shop"]
timeout_seconds = 60

[services.shop.production]
runner = "docker"
container = "shop-prod"
image = "{repository}"
"""


@pytest.fixture
def settings(tmp_path: Path, podman: PodmanEngine) -> Settings:
    content = content_copy(tmp_path)
    manifest = Manifest.load(content)
    Manifest(manifest.files, {**manifest.artifacts, **podman.digests}).save(content)
    config = tmp_path / "dihya.toml"
    config.write_text(CATALOG.format(repository=podman.repository))
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, content_dir=content, config_file=config,
                         docker_url=podman.url, job_sweep_seconds=0.5)


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[App]:
    with database("sqlite", tmp_path) as engine:
        built = build_app(settings, engine=engine)
        built.watcher._interval = 0.2
        await built.start()
        yield built
        await built.stop()


@pytest.fixture
def client(podman: PodmanEngine) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=podman.url)
    yield client
    client.close()


def status(chat: Transcript, job_id: int) -> list[str]:
    posted = next(p for p in chat.posted if p.key == f"job:{job_id}")
    return [posted.text, *posted.edits]


async def test_first_deploy_waits_for_health_with_the_elapsed_time_moving(
        app: App, chat: Transcript, client: docker.DockerClient) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy shop to staging version h3")  # healthy about 4 s after it starts

    job = await wait_job(app, 1)

    assert job.state == "succeeded", job.result
    shop = client.api.inspect_container("shop")
    assert shop["State"]["Health"]["Status"] == "healthy"
    assert "DB_URL=postgres://db/shop" in shop["Config"]["Env"]
    waiting = [text for text in status(chat, 1) if "wait for health" in text]
    elapsed = {m.group(1) for text in waiting if (m := re.search(r"\((\d+)s\)", text))}
    assert len(elapsed) >= 3, waiting  # edited while the step reported nothing new


async def test_a_digest_the_manifest_does_not_allow_is_a_refusal(
        app: App, chat: Transcript, client: docker.DockerClient, settings: Settings, podman: PodmanEngine) -> None:
    manifest = Manifest.load(settings.content_dir)
    artifacts = {**manifest.artifacts, podman.ref("v2"): podman.digests[podman.ref("v3")]}
    Manifest(manifest.files, artifacts).save(settings.content_dir)
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy shop to staging version v2")

    job = await wait_job(app, 1)

    assert job.state == "refused"
    final = status(chat, 1)[-1]
    assert "⛔" in final and "refused" in final and "failed" not in final
    assert "does not match the allowed digest" in final
    assert client.containers.list(all=True) == []
    app.bot.flush_audit()
    assert ("job:refused", "refused") in [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]


async def test_scale_of_a_docker_service_is_refused_before_an_approval_is_asked(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:ops1", "ops")

    reply = await chat.say("ops1", "scale shop in production to 3")

    assert "not supported for docker services" in reply
    assert app.store.pending_approvals() == []
    assert app.store.jobs() == []
