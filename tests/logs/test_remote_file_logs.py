"""``logs`` for a service whose log file lives on its environment's servers: read through Ansible
over SSH (a real OpenSSH server, the test's own), bounded on the server, each line marked with its
server when there are several, redacted and searched like every other source."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.transcript import Transcript
from tests.servers.sshd import PYTHON, SshHost, running_sshd

SECRET = "hunter2-remote-secret-value"


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as host:
        yield host


@pytest.fixture
def log_path(ssh_host: SshHost, tmp_path: Path) -> Path:
    return ssh_host.home / f"{tmp_path.name}-web.log"


@pytest.fixture
def settings(tmp_path: Path, ssh_host: SshHost, log_path: Path) -> Settings:
    config = tmp_path / "dihya.toml"
    config.write_text(f"""
[inventory]
allow_addresses = ["127.0.0.1", "127.0.0.2"]

[services.web.staging]
runner = "ansible"
playbook = "deploy_web.yml"
hosts = "servers"
log_file = "{log_path}"
""")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, config_file=config, ssh_user=ssh_host.user,
                         ssh_port=ssh_host.port, ssh_key_file=ssh_host.key_file,
                         ssh_known_hosts=ssh_host.known_hosts, ssh_python=PYTHON)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.redactor.add(SECRET)
    await built.start()
    built.store.grant_role("console:dev1", "developer")
    built.store.add_server(Server("web1", "127.0.0.1", "staging"))
    yield built
    await built.stop()


def stamp(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_the_servers_log_file_is_read_over_ssh_redacted(app: App, chat: Transcript, log_path: Path) -> None:
    lines = (f"{stamp(90)} too old", f"{stamp(3)} started", f"{stamp(2)} password={SECRET}", f"{stamp(1)} GET / 500")
    log_path.write_text("".join(f"{line}\n" for line in lines))
    reply = await chat.say("dev1", "logs web in staging since 1h")
    assert "3 log lines from file" in reply and "GET / 500" in reply and "too old" not in reply
    assert SECRET not in reply and "[REDACTED]" in reply
    grep = await chat.say("dev1", "logs web in staging grep /(a+)+$/")
    assert "GET / 500" not in grep


async def test_each_line_names_its_server_when_there_are_several(app: App, chat: Transcript,
                                                                 log_path: Path) -> None:
    app.store.add_server(Server("web2", "127.0.0.1", "staging"))  # the same host under a second name
    log_path.write_text(f"{stamp(1)} GET /health 200\n")
    reply = await chat.say("dev1", "logs web in staging")
    assert "[web1] GET /health 200" in reply and "[web2] GET /health 200" in reply


async def test_a_huge_file_costs_its_tail(app: App, chat: Transcript, log_path: Path) -> None:
    with log_path.open("w") as out:
        out.write("x" * 100 + "\n")
        for n in range(60_000):
            out.write(f"{stamp(1)} request {n} {'.' * 40}\n")
    reply = await chat.say("dev1", "logs web in staging lines 5")
    assert "request 59999" in reply and "request 0 " not in reply


async def test_a_missing_file_is_said_plainly(app: App, chat: Transcript, log_path: Path) -> None:
    assert not log_path.exists()
    reply = await chat.say("dev1", "logs web in staging")
    assert "does not exist yet" in reply
