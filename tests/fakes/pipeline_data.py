"""The sample payloads of ``tests/data/pipelines`` (sources in its SOURCES.md), loaded fresh each time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "pipelines"


def sample(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
