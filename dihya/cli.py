"""``dihya`` command line. Only this module exits the process."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.i18n import N_, Msg, Verbatim
from dihya.app import LOCALES_DIR, App, build_app, settle_heap
from dihya.cli_text import PROBLEM, CliText
from dihya.logs import configure
from dihya.redaction import Redactor
from dihya.settings import Settings, SettingsError, load_settings
from dihya.store.engine import make_engine, upgrade


def _parser(text: Callable[[str], str] = str) -> argparse.ArgumentParser:
    """The command line; ``text`` translates the help texts."""
    parser = argparse.ArgumentParser(prog="dihya", description=text(N_("Dihya ChatOps bot")))
    sub = parser.add_subparsers(dest="command", required=True)
    console = sub.add_parser("console", help=text(N_("chat with the bot in this terminal (embedded default)")))
    console.add_argument("--json", action="store_true", help=text(N_("print one JSON object per bot action")))
    sub.add_parser("serve", help=text(N_("run the configured chat adapters and the HTTP app")))
    db = sub.add_parser("db", help=text(N_("database maintenance")))
    db.add_argument("action", choices=["upgrade"])
    audit = sub.add_parser("audit", help=text(N_("audit log tools")))
    audit.add_argument("action", choices=["verify", "export"])
    audit.add_argument("--format", choices=["csv", "json"], default="csv", help=text(N_("export format")))
    audit.add_argument("--since", help=text(N_("export rows since a date (2026-11-01) or a duration (7d, 12h)")))
    audit.add_argument("--action", dest="actions", action="append", default=[],
                       help=text(N_("export only this action")))
    audit.add_argument("--out", type=Path, default=Path(), help=text(N_("directory for the export and its checks")))
    secrets = sub.add_parser("secrets", help=text(N_("encrypted secrets")))
    secrets.add_argument("action", choices=["rotate-key"])
    worker = sub.add_parser("worker", help=text(N_("run a Celery worker for jobs (DIHYA_JOBS=celery)")))
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--queues", default="", help=text(N_("comma-separated (default: all runner queues)")))
    manifest = sub.add_parser("manifest", help=text(N_("integrity manifest of playbooks, scripts and artifacts")))
    manifest.add_argument("action", choices=["update"])
    _token_parser(sub, text)
    plugins = sub.add_parser("plugins", help=text(N_("list installed plugins and whether DIHYA_PLUGINS loads them")))
    plugins.add_argument("--json", action="store_true", help=text(N_("print one JSON object per plugin")))
    return parser


def _token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], text: Callable[[str], str]) -> None:
    """``dihya token create|list|revoke`` (issue 13)."""
    token = sub.add_parser("token", help=text(N_("tokens for the REST API")))
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help=text(N_("print a new token on standard output")))
    create.add_argument("--identity", required=True, help=text(N_("the identity it names, PLATFORM:USER_ID")))
    create.add_argument("--ttl", help=text(N_("lifetime such as 1h or 7d (default: DIHYA_API_TOKEN_TTL)")))
    create.add_argument("--name", default="cli", help=text(N_("a name to recognise it by")))
    actions.add_parser("list", help=text(N_("list issued tokens (never the tokens themselves)")))
    revoke = actions.add_parser("revoke", help=text(N_("refuse a token from now on")))
    revoke.add_argument("id")


def main(argv: Sequence[str] | None = None) -> int:
    text = CliText.load(LOCALES_DIR, os.environ)
    args = _parser(text.gettext).parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as err:
        text.fail(Msg(PROBLEM, {"problem": Verbatim(str(err))}))
        return 2
    configure(settings.log_level, Redactor(settings.secret_values()), settings.log_file or _default_log(settings),
              max_bytes=settings.log_max_bytes, backups=settings.log_backups)
    try:
        return _dispatch(args, settings, text)
    except SettingsError as err:
        text.fail(Msg(PROBLEM, {"problem": Verbatim(str(err))}))
        return 2


def _default_log(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / "dihya.log"


def _dispatch(args: argparse.Namespace, settings: Settings, text: CliText) -> int:
    if args.command == "console":
        return _console(settings, json_mode=args.json)
    if args.command == "db":
        upgrade(make_engine(settings.sqlalchemy_url))
        text.say(Msg(N_("The database is at the latest schema.")))
        return 0
    if args.command == "serve":
        from dihya.serve import run

        run(settings)
        return 0
    if args.command == "worker":
        return _worker(settings, args.concurrency, args.queues)
    if args.command == "manifest":
        return _manifest_update(settings, text)
    if args.command == "token":
        return _token(args, settings, text)
    if args.command == "plugins":
        from dihya.plugin_list import list_plugins

        return list_plugins(settings, text, json_mode=args.json)
    return _compliance(args, settings, text)


def _token(args: argparse.Namespace, settings: Settings, text: CliText) -> int:
    from dihya.api import cli_tools

    if args.action == "create":
        return cli_tools.token_create(settings, text, args.identity, args.ttl, args.name)
    if args.action == "revoke":
        return cli_tools.token_revoke(settings, text, args.id)
    return cli_tools.token_list(settings, text)


def _compliance(args: argparse.Namespace, settings: Settings, text: CliText) -> int:
    from dihya.compliance import cli_tools

    if args.command == "secrets":
        return cli_tools.secrets_rotate(settings, text)
    if args.action == "export":
        return cli_tools.audit_export(settings, text, args.format, args.since, args.actions, args.out)
    return cli_tools.audit_verify(settings, text)


def _worker(settings: Settings, concurrency: int, queues: str) -> int:
    from dihya.jobs.celery_queue import QUEUES
    from dihya.worker import run_worker

    chosen = tuple(q for q in queues.split(",") if q) or QUEUES
    run_worker(settings, chosen, concurrency)
    return 0


def _manifest_update(settings: Settings, text: CliText) -> int:
    from dihya.integrity import update_manifest

    manifest = update_manifest(settings.content_dir)
    text.say(Msg(N_("Manifest updated: {count} files under {folder}."),
                 {"count": len(manifest.files), "folder": Verbatim(str(settings.content_dir))}))
    return 0


def _console(settings: Settings, json_mode: bool) -> int:
    from adapters.console import ConsoleChat, run_console, stdin_lines
    from dihya.demo_inventory import seed_demo_inventory

    app = build_app(settings)

    async def session(app: App) -> None:
        await app.start()
        seed_demo_inventory(app)
        settle_heap()
        chat = ConsoleChat(app.runtime, app.bot.services, sys.stdout, json_mode=json_mode,
                           user=settings.console_user, channel=settings.console_channel,
                           upload_dir=settings.data_dir / "uploads")
        app.runtime.attach(chat)  # the composition root attaches each adapter, once
        try:
            await run_console(chat, stdin_lines(chat))
            await app.drain()  # let running jobs finish and their last status edits print
        finally:
            await app.stop()

    asyncio.run(session(app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
