"""Issue 13, acceptance 1 against ``dihya serve`` itself, with a token from ``dihya token create``."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.ports import free_port

DIHYA = str(Path(sys.executable).with_name("dihya"))


def test_a_staging_deploy_over_http_on_dihya_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_HTTP_PORT": str(port),
           "DIHYA_ADMINS": "console:admin1", "DIHYA_API_CHANNEL": "console:main"}
    token = subprocess.run([DIHYA, "token", "create", "--identity", "console:admin1"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    process = subprocess.Popen([DIHYA, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/it_devops"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "dihya serve did not answer"
                time.sleep(0.2)
        answer = httpx.post(f"{base}/deploiements/", headers=headers, timeout=30,
                            json={"service": "web", "environnement": "staging", "version": "v5"})
        assert answer.status_code == 202, answer.text
        with httpx.stream("GET", f"http://127.0.0.1:{port}{answer.headers['Location']}/events", headers=headers,
                          timeout=120) as stream:
            text = "".join(stream.iter_text())
        assert '"state": "succeeded"' in text and text.rstrip().endswith("data: {}")
        refused = httpx.post(f"{base}/deploiements/", timeout=30, headers={"Authorization": f"Bearer {token}x"},
                             json={"service": "web", "environnement": "staging", "version": "v5"})
        assert refused.status_code == 401
    finally:
        process.terminate()
        assert process.wait(20) is not None
