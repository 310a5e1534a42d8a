"""The benchmark suite still runs (issue 16, acceptance 3; issue 13, acceptance 7): ``python -m bench
--quick`` runs every benchmark at a tiny N and each prints its JSON lines with the machine. No timing
is asserted: CI only catches a benchmark that broke."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MACHINE = {"cpus", "cpu", "python", "load1"}
EXPECTED = {  # figure -> the keys its JSON line must carry (besides the machine's)
    "core.sqlite": {"n", "commands_per_s", "p50_ms", "p99_ms", "peak_rss_mb", "targets"},
    "core.postgresql": {"n", "commands_per_s", "p50_ms", "p99_ms", "peak_rss_mb"},
    "alerts.dihya": {"payloads", "alerts_per_s", "p50_ms", "p99_ms", "concurrency", "targets"},
    "alerts.floor": {"payloads", "alerts_per_s", "p50_ms", "p99_ms", "concurrency"},
    "alerts.ratio": {"of_floor", "targets"},
    "dispatch.vote_to_running": {"rounds", "samples", "p50_ms", "p99_ms", "targets"},
    "dispatch.progress_to_edit": {"rounds", "samples", "p50_ms", "p99_ms", "targets"},
    "footprint.serve": {"runs", "startup_s", "rss_idle_mb", "adapters"},
    **{f"api.{side}.{route}": {"requests", "requests_per_s", "p50_ms", "p99_ms", "concurrency"}
       for side in ("dihya", "floor", "framework") for route in ("job", "deploy")},
    "api.ratio.job": {"p50_of_floor", "framework_p50_of_floor", "targets"},
    "api.ratio.deploy": {"p50_of_floor", "framework_p50_of_floor", "targets"},
}

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_every_benchmark_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], check=False, cwd=ROOT,
                           capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            figure = json.loads(line)
            figures[figure["bench"]] = figure
    assert set(EXPECTED) <= set(figures), set(EXPECTED) - set(figures)
    for name, keys in EXPECTED.items():
        assert keys | MACHINE <= set(figures[name]), (name, keys | MACHINE - set(figures[name]))
        assert figures[name]["cpus"] >= 1 and figures[name]["python"].count(".") == 2
    assert "footprint.serve.rss_idle_mb" in done.stdout  # the table at the end
