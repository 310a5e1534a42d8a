"""Issue 13, acceptance 6: ``/api/it_devops/docs`` renders in headless Chromium (Debian's, installed by
scripts/install-browser.sh) with nothing but 127.0.0.1 reachable, and shows every endpoint of the
OpenAPI 3.1 document that ``dihya serve`` generates."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.servers.dihya_serve import dihya_serve

pytestmark = pytest.mark.slow
INSTALL = Path(__file__).resolve().parents[2] / "scripts" / "install-browser.sh"
# Every host name resolves to nothing but 127.0.0.1, and every other address goes through a proxy
# that does not exist (Chromium sends loopback directly): the page gets only what this machine serves.
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9")


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        result = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900, check=False)
        found = shutil.which("chromium")
        if found is None:
            pytest.skip(f"chromium cannot be installed ({INSTALL.name} exit {result.returncode}: "
                        f"{result.stderr.strip()[-300:]})")
    return found


def rendered_dom(browser: str, url: str, profile: Path) -> str:
    """The page's DOM once its scripts ran: virtual time lets Swagger UI fetch and render the document."""
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={profile}", *OFFLINE, "--virtual-time-budget=30000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_the_docs_page_renders_every_endpoint_offline(tmp_path: Path) -> None:
    browser = chromium()
    data = tmp_path / "data"
    data.mkdir()
    with dihya_serve(data) as served:
        page = httpx.get(f"{served.api}/docs", timeout=10)
        spec = httpx.get(f"{served.api}/openapi.json", timeout=10).json()
        dom = rendered_dom(browser, f"{served.api}/docs", tmp_path / "profile")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/api/it_devops/docs-assets/") for a in assets), assets
    assert spec["openapi"].startswith("3.1")
    assert "Failed to load API definition" not in dom
    rendered = {html.unescape(p) for p in re.findall(r'data-path="([^"]*)"', dom)}
    assert rendered == set(spec["paths"]), (rendered, set(spec["paths"]))
    assert spec["info"]["title"] in html.unescape(dom)

