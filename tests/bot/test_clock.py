"""Microseconds are converted in one place (issue 12 item 6): ``bot/clock.py``."""

from __future__ import annotations

import ast
from datetime import UTC, datetime

from bot.clock import US_PER_S, micros, now_us, to_seconds, utc_datetime, whole_seconds
from tests.bot.source_tree import parsed

PACKAGES = ("bot", "commands", "adapters", "dihya")
HOME = "bot/clock.py"


def per_second_literals(tree: ast.Module) -> list[int]:
    """Lines that write a million (``1_000_000``, ``1e6``, ``1000000.0``): a second in microseconds
    spelled out again."""
    return sorted(node.lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == US_PER_S)


def test_only_the_clock_module_knows_a_second_is_a_million_microseconds() -> None:
    found = {path: lines for package in PACKAGES for path, tree in parsed(package)
             if (lines := per_second_literals(tree))}
    assert found.pop(HOME)  # the one definition
    assert found == {}


def test_the_scan_sees_every_spelling() -> None:
    source = "a = int(clock() * 1e6)\nb = int(clock() * 1_000_000)\nc = us / 1000000.0\nd = 1_000\n"
    assert per_second_literals(ast.parse(source)) == [1, 2, 3]


def test_conversions() -> None:
    assert micros(1.5) == 1_500_000 and micros(86_400) == 86_400 * US_PER_S
    assert now_us(lambda: 1_700_000_000.25) == 1_700_000_000_250_000
    assert to_seconds(2_500_000) == 2.5
    assert whole_seconds(2_999_999) == 2 and whole_seconds(3_000_000) == 3
    assert utc_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_datetime(micros(1_700_000_000.5)) == datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=UTC)
