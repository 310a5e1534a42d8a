"""Plugins by entry point (issue 17): the example plugin installed with pip adds its command in four
languages, only when DIHYA_PLUGINS names it; a plugin that breaks leaves the bot up."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dihya.app import App, build_app
from dihya.settings import load_settings
from dihya.store.engine import make_engine
from tests.helpers.transcript import Transcript

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dihya-plugin-hello"
HELLO = "dihya-plugin-hello"


def _write_dist(site: Path, name: str, module: str, source: str, entry_points: str) -> None:
    """An installed distribution as pip lays it out: the module and its ``.dist-info``."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin installed by pip into its own folder, and three misbehaving plugins beside it."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "hello"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(source)], check=True, timeout=300)
    _write_dist(target, "dihya-plugin-broken", "broken_plugin", 'raise RuntimeError("boom at import")\n',
                "[dihya.commands]\nbroken = broken_plugin:COMMANDS\n")
    _write_dist(target, "dihya-plugin-partial", "partial_plugin", PARTIAL,
                "[dihya.commands]\npartial = partial_plugin:COMMANDS\n"
                "[dihya.catalogs]\npartial = partial_plugin:LOCALES\n")
    fr = target / "partial_locales" / "fr" / "LC_MESSAGES"
    fr.mkdir(parents=True)
    (fr / "partial.po").write_text('msgid "Fails on purpose."\nmsgstr "Échoue exprès."\n')
    _write_dist(target, "dihya-plugin-greedy", "greedy_plugin", GREEDY,
                "[dihya.commands]\ngreedy = greedy_plugin:COMMANDS\n")
    return target


PARTIAL = '''
from pathlib import Path
from bot.registry import Command

LOCALES = Path(__file__).parent / "partial_locales"

def boom(ctx, args):
    raise ValueError("handler fault")

COMMANDS = (Command(name="partial.boom", phrases={"en": ("boom",)}, permission="partial.run",
                    help="Fails on purpose.", handler=boom),)
'''

GREEDY = '''
from bot.registry import Command, Reply

COMMANDS = (Command(name="greedy.ship", phrases={"en": ("ship",), "fr": ("livre",), "ar": ("شحن",),
                    "tzm": ("ⴰⵣⵏ",)}, permission="deploy.prod", help="Borrows a built-in permission.",
                    handler=lambda ctx, args: Reply(())),)
'''


@pytest.fixture
def on_path(site: Path) -> Iterator[Path]:
    sys.path.insert(0, str(site))
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for module in ("dihya_plugin_hello", "broken_plugin", "partial_plugin", "greedy_plugin"):
            sys.modules.pop(module, None)


async def _chat(tmp_path: Path, plugins: tuple[str, ...], config: str = "") -> AsyncIterator[Transcript]:
    overrides: dict[str, object] = {}
    if config:
        (tmp_path / "dihya.toml").write_text(config)
        overrides["config_file"] = tmp_path / "dihya.toml"
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, plugins=plugins, **overrides)
    app: App = build_app(settings, engine=make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    await app.start()
    try:
        yield Transcript(app)
    finally:
        await app.stop()


async def test_the_example_plugin_answers_in_four_languages(on_path: Path, tmp_path: Path) -> None:
    async for chat in _chat(tmp_path, (HELLO,)):
        assert await chat.say("admin1", "hello ada") == "Hello, ada! This greeting comes from a plugin."
        assert await chat.say("admin1", "bonjour ada") == "Bonjour, ada ! Ce salut vient d’un greffon."
        assert "مرحبا يا" in await chat.say("admin1", "مرحبا ada")
        assert "ⴰⵣⵓⵍ, ada!" in await chat.say("admin1", "ⴰⵣⵓⵍ ada")
        assert "Greet someone (an example plugin)." in await chat.say("admin1", "help hello")


async def test_without_dihya_plugins_the_command_does_not_exist(on_path: Path, tmp_path: Path) -> None:
    async for chat in _chat(tmp_path, ()):
        assert "hello.greet" not in chat.app.bot.services.registry.commands
        assert "Unknown command" in await chat.say("admin1", "hello ada")
    assert "dihya_plugin_hello" not in sys.modules  # nothing third-party was imported


async def test_plugin_permissions_are_admin_only_unless_the_matrix_grants_them(on_path: Path,
                                                                               tmp_path: Path) -> None:
    async for chat in _chat(tmp_path / "default", (HELLO,)):
        assert "not allowed" in await chat.say("bob", "hello ada")
    async for chat in _chat(tmp_path, (HELLO,), config='[rbac]\n"hello.greet" = ["guest"]\n'):
        assert await chat.say("bob", "hello ada") == "Hello, ada! This greeting comes from a plugin."


async def test_a_plugin_raising_at_import_leaves_the_bot_up(on_path: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dihya.plugins")
    async for chat in _chat(tmp_path, ("dihya-plugin-broken", HELLO, "dihya-plugin-greedy")):
        assert await chat.say("admin1", "hello ada") == "Hello, ada! This greeting comes from a plugin."
        assert "Unknown command" in await chat.say("admin1", "ship")
    problems = {r.plugin: r.problem for r in caplog.records if r.msg == "plugin not loaded"}  # type: ignore[attr-defined]
    assert problems["dihya-plugin-broken"] == "RuntimeError while loading"
    assert "not in the plugin's namespace" in problems["dihya-plugin-greedy"]


async def test_missing_languages_fall_back_to_english_and_a_failing_handler_gives_a_reference(
        on_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dihya.plugins")
    async for chat in _chat(tmp_path, ("dihya-plugin-partial", HELLO)):
        assert "Something failed (ref" in await chat.say("admin1", "boom")
        assert await chat.say("admin1", "hello ada") == "Hello, ada! This greeting comes from a plugin."
        assert "Échoue exprès." in await chat.say("admin1", "aide boom")
    warnings = " ".join(r.warning for r in caplog.records if r.msg == "plugin loaded with a warning")  # type: ignore[attr-defined]
    assert "no phrase in fr, ar, tzm" in warnings
    assert "no ar, tzm translation" in warnings


def _plugins_json(site: Path, allowed: str) -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "DIHYA_PLUGINS": allowed,
           "DIHYA_DATA_DIR": str(site / "var")}
    out = subprocess.run([sys.executable, "-m", "dihya", "plugins", "--json"], env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return {p["name"]: p for p in map(json.loads, out.splitlines())}


def test_dihya_plugins_lists_what_is_installed_and_what_is_loaded(site: Path) -> None:
    listed = _plugins_json(site, f"{HELLO},dihya-plugin-broken")
    hello = listed[HELLO]
    assert (hello["version"], hello["loaded"], hello["commands"]) == ("0.1.0", True, ["hello.greet"])
    assert hello["permissions"] == ["hello.greet"]
    assert listed["dihya-plugin-broken"]["loaded"] is False
    assert listed["dihya-plugin-broken"]["problem"] == "RuntimeError while loading"
    unlisted = _plugins_json(site, "")[HELLO]
    assert (unlisted["loaded"], unlisted["entry_points"]) == \
        (False, ["dihya.catalogs:hello", "dihya.commands:hello"])


def test_the_example_plugins_own_tests_pass_against_the_installed_copy(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLE),
                           "-c", os.devnull, str(EXAMPLE / "tests")], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 passed" in done.stdout
