"""``[scripts.NAME]`` tables: a well-formed declaration becomes the catalog; a bad one stops the start
with a message naming the table (settings errors never wait for the first run)."""

from __future__ import annotations

import tomllib

import pytest

from bot.argtypes import Choice, Integer, Matching
from bot.rbac import AccessPolicy
from bot.scripts import DEMO_SCRIPTS
from dihya.scripts.config import sandbox_user, script_catalog
from dihya.settings import SettingsError

POLICY = AccessPolicy.from_config()
GOOD = """
[scripts.rotate]
language = "bash"
file = "rotate.sh"
description = "Rotate a log"
timeout_seconds = 20
permission = "ops.run"
secrets = ["api_token"]
env = { MODE = "fast" }
show_output = false
limits = { cpu_seconds = 5, memory_mb = 128, output_kb = 64 }
[scripts.rotate.params.days]
type = "integer"
min = 1
max = 30
default = 7
[scripts.rotate.params.kind]
type = "choice"
values = ["app", "web"]
[scripts.rotate.params.tag]
type = "regex"
pattern = "v[0-9]+"
"""


def test_a_declaration_becomes_the_catalog() -> None:
    script = script_catalog(tomllib.loads(GOOD), POLICY).script("rotate")
    assert (script.language, script.path, script.permission, script.timeout_s) == \
        ("bash", "scripts/bash/rotate.sh", "ops.run", 20)
    assert script.secrets == ("api_token",) and script.env == {"MODE": "fast"} and not script.show_output
    assert (script.limits.cpu_seconds, script.limits.memory_mb, script.limits.output_bytes) == (5, 128, 65536)
    days, kind, tag = script.params
    assert isinstance(days.kind, Integer) and not days.required and days.default == "7"
    assert isinstance(kind.kind, Choice) and kind.required
    assert isinstance(tag.kind, Matching) and tag.kind.convert("v12", "tag") == "v12"


def test_without_a_scripts_table_the_demo_catalog_is_used() -> None:
    assert script_catalog({}, POLICY) is DEMO_SCRIPTS
    assert sandbox_user({}) == "nobody" and sandbox_user({"sandbox": {"user": "dihya"}}) == "dihya"


@pytest.mark.parametrize(("change", "complaint"), [
    ('language = "bash"', "language must be one of"),
    ('file = "rotate.sh"', "file must be a file name"),
    ('permission = "ops.run"', "is not in the RBAC matrix"),
    ('timeout_seconds = 20', "timeout_seconds must be"),
    ("limits = { cpu_seconds = 5, memory_mb = 128, output_kb = 64 }", "limits may set"),
    ('type = "integer"', "type must be choice, integer, name or regex"),
    ('pattern = "v[0-9]+"', "pattern: not a valid RE2"),
    ("default = 7", "default 99 is not a valid value"),
])
def test_a_bad_declaration_names_its_table(change: str, complaint: str) -> None:
    bad = {'language = "bash"': 'language = "ruby"', 'file = "rotate.sh"': 'file = "../etc/passwd"',
           'permission = "ops.run"': 'permission = "root.everything"', "timeout_seconds = 20": "timeout_seconds = 0",
           "limits = { cpu_seconds = 5, memory_mb = 128, output_kb = 64 }": "limits = { wall = 5 }",
           'type = "integer"': 'type = "float"', 'pattern = "v[0-9]+"': r'pattern = "(a)\\1"',
           "default = 7": "default = 99"}[change]
    with pytest.raises(SettingsError, match=complaint) as refused:
        script_catalog(tomllib.loads(GOOD.replace(change, bad, 1)), POLICY)
    assert "[scripts.rotate" in str(refused.value)


def test_a_script_of_any_language_may_target_servers() -> None:
    catalog = script_catalog(tomllib.loads(GOOD.replace('timeout_seconds = 20', 'targets = ["all", "web-01"]')), POLICY)
    assert {s.targets for s in catalog.scripts.values()} >= {("all", "web-01")}
