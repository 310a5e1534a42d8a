"""Hole 7: server addresses took anything after ``%`` (an IPv6 zone id):
``servers add x fe80::1%$(id);{{lookup('pipe','id')}} prod`` was stored and reached ``ansible_host``,
and 100 KB addresses were stored.

Now an address is a host name (RFC 1123, at most 253 characters) or an IP without a zone id, and
loopback, link-local and cloud metadata addresses are refused unless the settings file allows
them; an address already stored is checked again before it reaches an Ansible inventory."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App, build_app
from dihya.config_file import address_policy
from dihya.settings import Settings, SettingsError, load_settings
from tests.helpers.apps import plain
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

INJECTION = "fe80::1%$(id);{{lookup('pipe','id')}}"


@pytest.mark.parametrize("address", [INJECTION, "fe80::1%eth0", "x" * 100_000, "a" * 254])
async def test_hole7_zone_ids_and_oversized_addresses_are_refused(app: App, chat: Transcript, address: str) -> None:
    reply = await chat.say("admin1", f"servers add x {address} prod")
    assert "is not a valid address" in reply
    assert app.store.servers() == []


@pytest.mark.parametrize(("address", "kind"), [("127.0.0.1", "loopback"), ("169.254.169.254", "cloud metadata"),
                                               ("fe80::1", "link-local"), ("::ffff:169.254.169.254", "cloud metadata"),
                                               ("::ffff:127.0.0.1", "loopback"), ("localhost", "loopback")])
async def test_hole7_loopback_link_local_and_metadata_addresses_are_refused(app: App, chat: Transcript,
                                                                           address: str, kind: str) -> None:
    reply = await chat.say("admin1", f"servers add x {address} prod")
    assert f"is not allowed as address: it is a {kind} address" in reply
    assert app.store.servers() == []


async def test_hole7_the_refusal_is_translated_and_names_the_argument(app: App, chat: Transcript) -> None:
    app.store.set_locale("console:admin1", "fr")
    reply = await chat.say("admin1", "serveurs ajouter x 127.0.0.1 production")
    assert "n’est pas permis comme adresse" in reply and "de bouclage" in reply


async def test_hole7_an_ordinary_address_is_stored_in_canonical_form(app: App, chat: Transcript) -> None:
    await chat.say("admin1", "servers add web-01 2001:0DB8::0001 prod")
    await chat.say("admin1", "servers add web-02 Web-02.Example.ORG prod")
    assert [s.address for s in app.store.servers()] == ["2001:db8::1", "web-02.example.org"]


@pytest.fixture
def allowing(tmp_path: Path) -> Settings:
    config = tmp_path / "dihya.toml"
    config.write_text('[inventory]\nallow_addresses = ["127.0.0.0/8", "localhost"]\n', encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, config_file=config)


async def test_hole7_the_settings_file_can_allow_a_refused_address(allowing: Settings, engine: Engine) -> None:
    app = build_app(allowing, engine=engine)
    chat = Transcript(app)
    assert "Added lo" in await chat.say("admin1", "servers add lo 127.0.0.1 test")
    assert "Added me" in await chat.say("admin1", "servers add me localhost test")
    assert "cloud metadata" in await chat.say("admin1", "servers add md 169.254.169.254 test")
    app.close()


@pytest.mark.parametrize("entries", ['["fe80::1%eth0"]', '["not an address"]', '"127.0.0.1"', "[1]"])
def test_hole7_a_bad_allow_list_stops_the_start(entries: str) -> None:
    with pytest.raises(SettingsError, match="allow_addresses"):
        address_policy(tomllib.loads(f"[inventory]\nallow_addresses = {entries}\n"))


@pytest.fixture
def running(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, content_dir=content_copy(tmp_path))


@pytest.fixture
async def runner_app(running: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(running, engine=engine)
    await built.start()
    yield built
    await built.stop()


@pytest.mark.parametrize("stored", [INJECTION, "127.0.0.1", "x" * 254])
async def test_hole7_a_stored_bad_address_never_reaches_the_inventory(runner_app: App, stored: str) -> None:
    chat = Transcript(runner_app)
    runner_app.store.add_server(Server("evil", stored, "production"))  # written before the rules, or around them
    runner_app.store.grant_role("console:ops1", "ops")
    runner_app.store.grant_role("console:devops1", "devops")
    await chat.say("ops1", "playbook run sleep-demo on evil")
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(runner_app, 1)
    assert job.state == "refused"  # a runner refusal: nothing was run (issue 11)
    status = next(p for p in chat.posted if p.key == "job:1")
    assert "is not a valid server address" in plain(status.current)
