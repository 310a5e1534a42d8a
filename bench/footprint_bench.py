"""Footprint benchmark (issue 16): ``dihya serve`` with every adapter configured — RSS when idle and
start-up time.

Configured: Slack (Events API, against the fake Slack Web API of ``tests/fakes``), Telegram (long
polling, against the fake Bot API), Matrix (a real Synapse started here, the bot's account
registered on it), the Alertmanager and CI webhooks, and the REST API (always mounted).
**start-up**: from ``exec`` of ``dihya serve`` until ``/healthz`` answers 200 — every adapter has
logged in and started by then (``serve`` starts them before its HTTP server). **RSS idle**: the
process's resident set after it has idled ``IDLE_S`` seconds (Telegram polling, Matrix syncing).

Prints JSON lines ``footprint.serve`` (start-up s, RSS MB) per run and the median over runs.
Run: ``.venv/bin/python -m bench.footprint_bench [RUNS]`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.figures import Figure, emit
from bench.harness import dihya_serve
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.servers.synapse import BOT_USER, running_synapse

IDLE_S = 3.0
TELEGRAM_TOKEN = "4242:bench-token"
ADAPTERS = ("slack", "telegram", "matrix")


def footprint(runs: int, idle_s: float = IDLE_S) -> list[Figure]:
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="dihya-bench-footprint-") as tmp, \
            FakeSlackApi() as slack, FakeTelegramApi(TELEGRAM_TOKEN) as telegram, \
            running_synapse(_mkdir(Path(tmp) / "synapse")) as synapse:
        synapse.register(BOT_USER.split(":")[0].removeprefix("@"))
        for run in range(runs):
            data = _mkdir(Path(tmp) / f"serve-{run}")  # a fresh replica each time: first login included
            env = {
                "DIHYA_SLACK_BOT_TOKEN": "xoxb-bench-0000", "DIHYA_SLACK_SIGNING_SECRET": "bench-signing-secret",
                "DIHYA_SLACK_API_URL": slack.url,
                "DIHYA_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "DIHYA_TELEGRAM_API_URL": telegram.url,
                "DIHYA_MATRIX_HOMESERVER": synapse.url, "DIHYA_MATRIX_USER_ID": BOT_USER,
                "DIHYA_MATRIX_PASSWORD": synapse.passwords[BOT_USER],
                "DIHYA_ALERT_WEBHOOK_TOKEN": "bench-alert-token-0123456789", "DIHYA_ALERTS_CHANNEL": "console:alerts",
                "DIHYA_GITHUB_WEBHOOK_SECRET": "bench-github-secret", "DIHYA_GITLAB_WEBHOOK_TOKEN": "bench-gitlab",
                "DIHYA_JENKINS_WEBHOOK_TOKEN": "bench-jenkins", "DIHYA_ADMINS": "console:admin1",
            }
            with dihya_serve(env, data) as served:
                time.sleep(idle_s)
                samples.append((served.startup_s, served.rss_mb()))
                if served.process.poll() is not None:
                    raise RuntimeError("dihya serve exited while idle")
                started = (data / "dihya.log").read_text().count('"adapter started"')
                if started != len(ADAPTERS):
                    raise RuntimeError(f"{started} of {len(ADAPTERS)} chat adapters started (see dihya.log)")
            emit(Figure("footprint.run", {"run": run + 1, "startup_s": round(samples[-1][0], 2),
                                          "rss_idle_mb": round(samples[-1][1], 1)}))
    values: dict[str, float | int | str] = {
        "runs": runs, "startup_s": round(statistics.median(s for s, _ in samples), 2),
        "rss_idle_mb": round(statistics.median(r for _, r in samples), 1),
        "adapters": "slack,telegram,matrix,alertmanager,ci,api"}
    return [emit(Figure("footprint.serve", values))]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("runs", type=int, nargs="?", default=3)
    parser.add_argument("--idle", type=float, default=IDLE_S, help="seconds idle before RSS is read")
    args = parser.parse_args()
    footprint(args.runs, args.idle)


if __name__ == "__main__":
    main()
