"""The project's own Python sources, parsed once per test run for the tests that read code
(``test_layers.py``, ``test_clock.py``)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def parsed(package: str) -> tuple[tuple[str, ast.Module], ...]:
    """(path from the project root, syntax tree) of every module under ``package``."""
    return tuple((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
                 for path in sorted((ROOT / package).rglob("*.py")))
