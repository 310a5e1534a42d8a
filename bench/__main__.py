"""The benchmark suite: ``.venv/bin/python -m bench [--quick]`` (see bench/README.md).

Runs each benchmark in a process of its own (so one's imports and heap do not weigh on another's
RSS), relays every JSON line it prints (one per figure, with the CPU model and count, Python and the
load average), then prints a table of the figures with their targets. ``--quick`` runs every
benchmark at a tiny N, all at once: it checks that the suite works, not how fast (CI,
``tests/test_bench.py``).
Exits non-zero when a benchmark fails; a missed target is shown, not an error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench.figures import ROOT, machine

# (name, module and arguments at full size, at --quick)
BENCHMARKS: tuple[tuple[str, list[str], list[str]], ...] = (
    ("core.sqlite", ["bench.core_bench", "--json", "2000", "20000"], ["bench.core_bench", "--json", "300"]),
    ("core.postgresql", ["bench.core_bench", "--json", "--database", "postgresql", "2000", "20000"],
     ["bench.core_bench", "--json", "--database", "postgresql", "300"]),
    ("alerts", ["bench.http_bench", "alerts", "5000"], ["bench.http_bench", "alerts", "40"]),
    ("dispatch", ["bench.dispatch_bench", "20"], ["bench.dispatch_bench", "1", "--no-warmup"]),
    ("footprint", ["bench.footprint_bench", "3"], ["bench.footprint_bench", "1", "--idle", "0.5"]),
    ("api", ["bench.http_bench", "api", "3000"], ["bench.http_bench", "api", "40"]),
)


def start(module: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", *module], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def collect(name: str, process: subprocess.Popen[str]) -> list[dict[str, object]]:
    """Relay one benchmark's output as it comes; return its JSON lines."""
    figures = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("{"):
            figures.append(json.loads(line))
    if process.wait() != 0:
        raise SystemExit(f"benchmark {name} failed (exit {process.returncode})")
    return figures


def table(figures: list[dict[str, object]]) -> str:
    rows = [("figure", "value", "target")]
    skip = {"bench", "cpus", "cpu", "python", "load1"}
    for figure in figures:
        targets = figure.get("targets") or {}
        assert isinstance(targets, dict)
        for key, value in figure.items():
            if key not in skip and key != "targets":
                rows.append((f"{figure['bench']}.{key}", str(value), str(targets.get(key, ""))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="every benchmark at a tiny N (CI)")
    parser.add_argument("only", nargs="*", help="benchmarks to run (default: all): "
                                                + ", ".join(name for name, _, _ in BENCHMARKS))
    args = parser.parse_args()
    unknown = set(args.only) - {name for name, _, _ in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    chosen = [(name, quick if args.quick else full) for name, full, quick in BENCHMARKS
              if not args.only or name in args.only]
    figures = []
    if args.quick:  # all at once: --quick checks that each works, its timings mean nothing
        started_all = [(name, start(module)) for name, module in chosen]
        try:
            for name, process in started_all:
                figures += collect(name, process)
        finally:  # one failed: stop the others (each cleans up on SIGTERM)
            for _, process in started_all:
                if process.poll() is None:
                    process.terminate()
                    process.wait(30)
    else:  # one after the other, so they do not disturb each other
        for name, module in chosen:
            figures += collect(name, start(module))
    about = machine()
    print(f"\nMachine: {about['cpu']}, {about['cpus']} CPUs, Python {about['python']}, "
          f"load average {about['load1']}; {time.monotonic() - started:.0f} s\n")
    print(table(figures))


if __name__ == "__main__":
    main()
