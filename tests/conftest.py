"""Shared fixtures. Every test that uses ``app`` runs twice: on an SQLite file and on the real
PostgreSQL at 127.0.0.1:5432 (each test in a schema of its own, dropped afterwards)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.databases import database
from tests.helpers.transcript import Transcript

# The command line speaks the language of the environment; tests that read its output expect English
# unless they choose a language themselves (LANGUAGE comes first, and is inherited by subprocesses).
os.environ["LANGUAGE"] = "en"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as eng:
        yield eng


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
def chat(app: App) -> Transcript:
    return Transcript(app)


# -- no secret in any log the suite writes (issue 4, acceptance 5) --------------------------------
# Every log record of the whole run, from our code and the libraries, at DEBUG, unredacted by this
# handler: the adapters' and the runtime's own redaction must be what keeps secrets out.
SUITE_LOG = "suite-log.jsonl"
_SUITE_HANDLER = pytest.StashKey["logging.FileHandler"]()
SECRET_SOURCES = {
    "tests.adapters.test_slack": ("BOT_TOKEN", "APP_TOKEN", "SIGNING_SECRET"),
    "tests.adapters.test_telegram": ("TOKEN", "SECRET"),
    "tests.helpers.outbound": ("CANARY",),
}


def pytest_sessionstart(session: pytest.Session) -> None:
    import logging

    config = session.config
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    handler = logging.FileHandler(base / SUITE_LOG, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    config.stash[_SUITE_HANDLER] = handler


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import sys

    handler = session.config.stash.get(_SUITE_HANDLER, None)  # absent in xdist workers and --help runs
    if handler is None:
        return
    handler.flush()
    secrets = [getattr(sys.modules[m], name) for m, names in SECRET_SOURCES.items() if m in sys.modules
               for name in names]
    base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    leaks = [f"{path.name}: {secret[:6]}…" for path in base.rglob("*") if path.is_file()
             and path.suffix in {".log", ".jsonl"} for secret in secrets
             if secret in path.read_text(encoding="utf-8", errors="replace")]
    if leaks:
        session.config.get_terminal_writer().line(f"SECRET LEAKED INTO LOGS: {leaks}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _outbound_canary(session)


def _outbound_canary(session: pytest.Session) -> None:
    """Issue 10: no outbound Slack, Telegram or Matrix call made anywhere in the suite carried the
    canary secret the tests set through each platform's ``secret set`` (tests/helpers/outbound.py)."""
    import sys

    ledger = sys.modules.get("tests.helpers.outbound")
    if ledger is not None and ledger.LEAKS:
        session.config.get_terminal_writer().line(f"CANARY SECRET SENT TO A PLATFORM: {ledger.LEAKS}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

