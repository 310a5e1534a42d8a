"""The embedded default must start without the heavy libraries only some features need: they
would push the bot past its memory budget (bench/README.md) for nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ON_DEMAND = ("alembic", "ansible_runner", "celery", "cryptography", "docker", "kubernetes", "matplotlib",
             "phonenumbers", "prometheus_api_client", "httpx",
             "croniter")  # croniter: issue 17, only when [reports] is configured

SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from bot.events import Message, Place, Sender
from dihya.app import build_app
from dihya.settings import load_settings

class Chat:
    platform = "console"
    said = []

    async def perform(self, action, target):
        Chat.said.append(action.text)

async def main():
    app = build_app(load_settings(data_dir=Path(sys.argv[1]), admins=("console:admin1",)))
    await app.start()
    app.runtime.attach(Chat())
    text = "servers add web-" + sys.argv[2] + " 10.0.0.5 production"
    event = Message(text, Sender("console", "admin1"), Place("console", "main"), text, text)
    await app.runtime.dispatch(event)
    await app.stop()
    print(json.dumps({"said": Chat.said, "modules": sorted({name.split(".")[0] for name in sys.modules})}))

asyncio.run(main())
"""


def test_the_embedded_default_starts_and_runs_a_command_without_on_demand_libraries(tmp_path: Path) -> None:
    # Two starts: the first creates the database, the second opens an existing one.
    for run in ("01", "02"):
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), run], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=True)
        probe = json.loads(done.stdout.strip().splitlines()[-1])
        assert len(probe["said"]) == 1 and f"web-{run}" in probe["said"][0]  # the command did run
        loaded = set(probe["modules"])
        assert loaded.isdisjoint(ON_DEMAND), sorted(loaded & set(ON_DEMAND))
