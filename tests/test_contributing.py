"""Contributors' habits (issue 12, item 8): the CI workflow and the devcontainer run the README's test
command with PostgreSQL and Redis, CONTRIBUTING.md names only things that exist, the ruff hook is
valid, and scripts/services.sh uses services already answering without their client tools."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()


def readme_test_command() -> str:
    """The README's test command: the line of its two-commands block that runs the tests."""
    block = README.split("## Two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    [command] = [line.strip() for line in block.splitlines() if "test" in line]
    return command


def load_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_readme_test_command_is_the_script() -> None:
    assert readme_test_command() == "./scripts/test"
    assert os.access(ROOT / "scripts" / "test", os.X_OK)


# -- GitHub Actions -----------------------------------------------------------------------------

def test_ci_runs_the_readme_test_command_on_ubuntu_with_postgres_and_redis() -> None:
    [job] = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")["jobs"].values()
    assert str(job["runs-on"]).startswith(("ubuntu-", "debian-"))
    assert [step["run"] for step in job["steps"] if "run" in step] == [readme_test_command()]
    [python] = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"
    services = job["services"]
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"].startswith("postgres:") and redis["image"].startswith("redis:")
    # where tests/helpers/databases.py and the Redis tests look: 127.0.0.1, trust, database "test"
    assert postgres["env"] == {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"}
    assert postgres["ports"] == ["5432:5432"] and redis["ports"] == ["6379:6379"]
    assert "--health-cmd" in postgres["options"] and "--health-cmd" in redis["options"]


# -- Codespaces / Dev Containers --------------------------------------------------------------------

def test_devcontainer_gives_python_3_11_on_debian_with_postgres_and_redis_on_localhost() -> None:
    folder = ROOT / ".devcontainer"
    config = json.loads((folder / "devcontainer.json").read_text())
    compose = load_yaml(folder / config["dockerComposeFile"])["services"]
    app = compose[config["service"]]
    assert re.search(r"python:[\w.-]*3\.11-bookworm$", app["image"]), app["image"]
    assert app["environment"]["DIHYA_PYTHON"].endswith("python3.11")
    assert set(config["runServices"]) == {config["service"], "postgres", "redis"}
    assert compose["postgres"]["image"].startswith("postgres:") and compose["redis"]["image"].startswith("redis:")
    assert compose["postgres"]["environment"] == {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"}
    # one network namespace: the tests reach both services on 127.0.0.1, as on CI and this machine
    assert app["network_mode"] == compose["redis"]["network_mode"] == "service:postgres"
    assert config["workspaceFolder"] == "/workspaces/${localWorkspaceFolderBasename}"
    assert "../..:/workspaces:cached" in app["volumes"]


def test_devcontainer_prepares_what_the_two_commands_need() -> None:
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    script = ROOT / config["postCreateCommand"].removeprefix("bash ")
    subprocess.run(["bash", "-n", str(script)], check=True)  # parses
    steps = [line for line in script.read_text().splitlines() if line and not line.startswith("#")]
    assert 'EXTRAS="dev" source scripts/_venv.sh' in steps  # the venv exactly as ./scripts/test makes it
    assert "bash scripts/install-monitoring.sh" in steps
    assert ".venv/bin/pre-commit install" in steps
    for path in re.findall(r"scripts/[\w.-]+", script.read_text()):
        assert (ROOT / path).is_file(), path


# -- pre-commit -------------------------------------------------------------------------------------

def test_pre_commit_runs_ruff_check_with_the_venvs_ruff() -> None:
    config = load_yaml(ROOT / ".pre-commit-config.yaml")
    [hook] = [h for repo in config["repos"] for h in repo["hooks"]]
    assert hook["id"] == "ruff" and hook["entry"].split()[:2] == [".venv/bin/ruff", "check"]
    pre_commit = Path(sys.executable).with_name("pre-commit")
    subprocess.run([str(pre_commit), "validate-config", ".pre-commit-config.yaml"], cwd=ROOT, check=True)


# -- CONTRIBUTING.md ------------------------------------------------------------------------------

def test_contributing_is_one_page_and_names_the_two_commands() -> None:
    assert len(CONTRIBUTING.splitlines()) <= 70
    assert "./scripts/run" in CONTRIBUTING and readme_test_command() in CONTRIBUTING


def test_every_script_tool_and_path_contributing_names_exists() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    dev_tools = {re.split(r"[<>=\[]", requirement)[0].lower() for requirement in dev}
    for tool in set(re.findall(r"\.venv/bin/([\w-]+)", CONTRIBUTING)):
        assert tool in dev_tools, tool
    paths = set(re.findall(r"`(?:\./)?([\w.{},-]+/[\w./{},-]*)`", CONTRIBUTING))  # every `folder/…` it names
    paths |= set(re.findall(r"(?:\./|bash )(scripts/[\w.-]+)", CONTRIBUTING))  # and every script it runs
    assert {"scripts/run", "scripts/test", "scripts/i18n.sh", "commands/help.py"} <= paths
    for path in paths:
        for locale in ("en", "fr", "ar", "tzm"):
            assert (ROOT / path.replace("{en,fr,ar,tzm}", locale)).exists(), path
    for script in re.findall(r"\./(scripts/[\w.-]+)", CONTRIBUTING):
        assert os.access(ROOT / script, os.X_OK), script


@pytest.mark.parametrize("engine_id", ["", "[sqlite]"])
def test_the_one_test_example_selects_a_real_test(engine_id: str) -> None:
    [path, name] = re.findall(r"(tests/[\w/]+\.py)::(\w+)" + re.escape(engine_id), CONTRIBUTING)[0]
    assert re.search(rf"^async def {name}\(|^def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "--collect-only", "-q", "-p", "no:cacheprovider",
         f"{path}::{name}{engine_id}"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert f"{path}::{name}[sqlite]" in collected.stdout


# -- scripts/services.sh --------------------------------------------------------------------------

def test_services_script_uses_answering_services_without_their_client_tools(tmp_path: Path) -> None:
    """As on a CI runner or in the devcontainer: PostgreSQL and Redis answer on 127.0.0.1, and neither
    pg_isready nor redis-cli (nor a server to start) is installed."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "seq", "sleep", "ls", "head"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bare / tool).symlink_to(found)
    for absent in ("pg_isready", "redis-cli", "pg_ctlcluster", "redis-server"):
        assert shutil.which(absent, path=str(bare)) is None
    done = subprocess.run([str(bare / "bash"), "scripts/services.sh"], cwd=ROOT, env={"PATH": str(bare)},
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
