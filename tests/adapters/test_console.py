"""The console adapter as users and scripts drive it: ``dihya console --json`` in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
role grant dev1 developer
role grant devops1 devops
/as dev1
deploy web to production version v1.2.3
/react ✅
/as devops1
/react ✅
jobs
/as nobody
servers add web-01 10.0.0.5 production
/react
/as bad name
"""


def run_console(tmp_path: Path, script: str, *flags: str) -> str:
    dihya = Path(sys.executable).with_name("dihya")
    env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_ADMINS": "console:admin1"}
    done = subprocess.run([str(dihya), "console", *flags], input=script, capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    return done.stdout


def test_json_mode_prints_one_object_per_action_and_runs_the_approved_deploy(tmp_path: Path) -> None:
    records = [json.loads(line) for line in run_console(tmp_path, SCRIPT, "--json").splitlines()]
    ops = [r["op"] for r in records]
    assert set(ops) <= {"send", "edit", "react", "upload", "notice"}
    request = next(r for r in records if r["op"] == "send" and "Approval needed" in r["text"])
    assert any(r["op"] == "send" and "cannot approve your own request" in r["text"] for r in records)
    assert any(r["op"] == "edit" and r["id"] == request["id"] and r["text"].startswith("✅ Approved") for r in records)
    status = next(r for r in records if r["op"] == "send" and "Job #1" in r["text"])
    final = [r for r in records if r["op"] == "edit" and r["id"] == status["id"]][-1]
    assert "succeeded" in final["text"]
    assert any("not allowed" in r.get("text", "") for r in records)
    assert any(r["op"] == "notice" and "usage: /as" in r["text"] for r in records)
    assert (tmp_path / "deployed" / "web-production.txt").read_text() == "v1.2.3"


def test_human_mode_prints_messages_with_their_ids(tmp_path: Path) -> None:
    out = run_console(tmp_path, "ping\nwhoami\n")
    assert "dihya [m2]: pong" in out
    assert "console:admin1" in out


def test_state_survives_a_restart(tmp_path: Path) -> None:
    run_console(tmp_path, "servers add web-01 10.0.0.5 staging\n")
    assert "web-01" in run_console(tmp_path, "servers list\n")
    assert "intact" in subprocess.run([str(Path(sys.executable).with_name("dihya")), "audit", "verify"],
                                      env={**os.environ, "DIHYA_DATA_DIR": str(tmp_path)}, capture_output=True,
                                      text=True, check=True).stdout


def test_dm_is_a_direct_conversation_where_secrets_are_accepted(tmp_path: Path) -> None:
    canary = "canary-9f8e7d6c5b4a"
    script = f"secret set DB_PASSWORD {canary}\n/dm secret set DB_PASSWORD {canary}\n/dm\nsecrets\n"
    dihya = Path(sys.executable).with_name("dihya")
    env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_ADMINS": "console:admin1",
           "DIHYA_SECRET_KEY": "a long passphrase for the console test"}
    out = subprocess.run([str(dihya), "console", "--json"], input=script, capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout
    records = [json.loads(line) for line in out.splitlines()]
    kept, refused, stored, usage, listed = records
    assert "could not remove your message" in kept["text"]  # a typed line cannot be taken back
    assert "did not store it" in refused["text"] and "direct" not in refused
    assert "Secret DB_PASSWORD stored" in stored["text"] and stored["direct"] is True
    assert usage["op"] == "notice" and "/dm" in usage["text"]
    assert "DB_PASSWORD" in listed["text"]
    assert canary not in out


def test_human_mode_marks_direct_replies_in_the_speakers_language(tmp_path: Path) -> None:
    out = run_console(tmp_path, "lang fr\n/dm ping\n")
    assert "dihya [m4] (privé): pong" in out
