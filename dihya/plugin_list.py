"""``dihya plugins``: what is installed, its version, what it adds, and whether it is loaded."""

from __future__ import annotations

import json

from bot.i18n import N_, Msg, Verbatim
from commands import ALL
from dihya.cli_text import CliText
from dihya.plugins import load_plugins
from dihya.settings import Settings


def list_plugins(settings: Settings, text: CliText, *, json_mode: bool = False) -> int:
    plugins = load_plugins(settings.plugins, ALL)
    if json_mode:
        for p in plugins.found:
            print(json.dumps({"name": p.name, "version": p.version, "entry_points": list(p.entry_points),
                              "loaded": p.loaded, "commands": list(p.commands),
                              "permissions": list(p.permissions), "problem": p.problem,
                              "warnings": list(p.warnings)}, ensure_ascii=False))
        return 0
    if not plugins.found:
        text.say(Msg(N_("No plugin is installed.")))
    for p in plugins.found:
        adds = ", ".join(p.commands or p.entry_points)
        if p.loaded:
            line = N_("{name} {version}: loaded; adds {adds}")
        elif p.problem:
            line = N_("{name} {version}: not loaded ({problem}); declares {adds}")
        else:
            line = N_("{name} {version}: not loaded (not in DIHYA_PLUGINS); declares {adds}")
        text.say(Msg(line, {"name": p.name, "version": p.version, "adds": Verbatim(adds),
                            "problem": Verbatim(p.problem)}))
    return 0
