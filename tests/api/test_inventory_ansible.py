"""Issue 13, acceptance 5: ``GET /api/it_devops/inventaire/`` is an Ansible dynamic inventory that
``ansible-inventory -i`` (ansible-core, a dependency) reads: an executable inventory script that
fetches it from ``dihya serve`` — what ``-i <(curl …)`` does, in the form Ansible runs — lists every
server of the inventory, in the group of its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dihya.demo_inventory import DEMO_SERVER
from tests.servers.dihya_serve import console, dihya_serve

pytestmark = pytest.mark.slow
ANSIBLE_INVENTORY = str(Path(sys.executable).with_name("ansible-inventory"))
SERVERS = {"web-01": ("10.0.0.5", "production"), "web-02": ("10.0.0.6", "production"),
           "db-01": ("db1.example.org", "staging"), "ci-01": ("10.0.9.1", "development")}
# The inventory script protocol: ``--list`` prints the inventory JSON; the URL and token come from the
# environment, as a user's script would take them (never from its arguments, which ``ps`` shows).
SCRIPT = """#!{python}
import json, os, sys, urllib.request
if sys.argv[1:] != ["--list"]:
    print("{{}}")
    sys.exit(0)
request = urllib.request.Request(os.environ["DIHYA_INVENTORY_URL"],
                                 headers={{"Authorization": "Bearer " + os.environ["DIHYA_TOKEN"]}})
with urllib.request.urlopen(request, timeout=10) as answer:
    sys.stdout.write(json.dumps(json.load(answer)))
"""


def test_ansible_inventory_lists_every_server_of_the_api(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    added = console(data, "".join(f"servers add {name} {address} {env}\n"
                                  for name, (address, env) in SERVERS.items()))
    assert all(name in added for name in SERVERS), added
    script = tmp_path / "dihya_inventory.py"
    script.write_text(SCRIPT.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    with dihya_serve(data) as served:
        token = served.token()
        served_json = httpx.get(f"{served.api}/inventaire/", headers={"Authorization": f"Bearer {token}"},
                                timeout=10).json()
        env = {**os.environ, "DIHYA_INVENTORY_URL": f"{served.api}/inventaire/", "DIHYA_TOKEN": token,
               "ANSIBLE_INVENTORY_ENABLED": "script", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
               "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
        done = subprocess.run([ANSIBLE_INVENTORY, "-i", str(script), "--list"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Unable to parse" not in done.stderr and "No inventory was parsed" not in done.stderr, done.stderr
    inventory = json.loads(done.stdout)
    # every server added, and the embedded default's own machine (server 1 of the demo inventory)
    servers = {**SERVERS, DEMO_SERVER.name: (DEMO_SERVER.address, DEMO_SERVER.environment)}
    assert set(served_json["_meta"]["hostvars"]) == set(servers)
    hostvars = inventory["_meta"]["hostvars"]
    assert {name: hostvars[name]["ansible_host"] for name in hostvars} == {n: a for n, (a, _) in servers.items()}
    for env_name in {e for _, e in servers.values()}:
        assert set(inventory[env_name]["hosts"]) == {n for n, (_, e) in servers.items() if e == env_name}
        assert env_name in inventory["all"]["children"]
