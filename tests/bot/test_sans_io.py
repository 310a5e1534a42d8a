"""bot/ is sans-I/O: it must not import a chat SDK, a job runner or an infrastructure client."""

import ast
from pathlib import Path

FORBIDDEN = {"slack_bolt", "slack_sdk", "telegram", "nio", "celery", "kombu", "docker", "kubernetes",
             "ansible_runner", "redis", "sqlalchemy", "httpx", "aiohttp", "requests", "prometheus_api_client",
             "starlette", "uvicorn", "socket", "subprocess", "dihya", "adapters"}
BOT = Path(__file__).resolve().parents[2] / "bot"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_bot_package_imports_no_platform_or_io_library() -> None:
    found = {p: imported_modules(p) & FORBIDDEN for p in BOT.rglob("*.py")}  # each file parsed once
    offenders = {f"{p.name}: {sorted(names)}" for p, names in found.items() if names}
    assert not offenders, offenders


def test_the_scan_sees_imports() -> None:
    assert "babel" in imported_modules(BOT / "i18n.py")
