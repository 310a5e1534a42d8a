"""Figures: each printed as a JSON line at once (with the machine: CPU model and count, Python, load),
and kept for the table at the end. Light on imports, so the core benchmark's RSS stays its own."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: the benchmarks' subprocesses import from it


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
            "load1": round(os.getloadavg()[0], 2)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass
class Figure:
    """One measured figure: printed as a JSON line at once, and as a row of the final table."""

    bench: str
    values: dict[str, float | int | str]
    targets: dict[str, str] = field(default_factory=dict)  # value name -> "≤ 50" / "≥ 2000", for the table

    def line(self) -> str:
        targets = {"targets": self.targets} if self.targets else {}
        return json.dumps({"bench": self.bench, **self.values, **targets, **machine()}, ensure_ascii=False)


def emit(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    return figure
