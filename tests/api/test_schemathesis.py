"""Issue 13, acceptance 3: ``schemathesis run`` against ``dihya serve`` (every operation; examples,
coverage, fuzzing and stateful phases following the document's links and the ``Location`` headers;
an admin token from ``dihya token create``) finds no 5xx and no answer the OpenAPI document does not
describe (status, content type, headers, body schema), and invalid input is refused.

``positive_data_acceptance`` is left out: a schema-valid body may still name a service, script or
environment the catalog does not have, which is configuration, not schema, and is rightly a 422."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.dihya_serve import dihya_serve

pytestmark = pytest.mark.slow
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
MAX_EXAMPLES = 25  # per operation: about a minute and a half on two cores
SEED = 13  # the same cases on every run; change it to explore others


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # The per-person rate limit (tested on its own) would otherwise answer most of the run with 429.
    with dihya_serve(data, DIHYA_RATE_LIMIT_PER_MINUTE="0", DIHYA_API_CHANNEL="console:main") as served:
        token = served.token()
        done = subprocess.run(
            [SCHEMATHESIS, "run", f"{served.api}/openapi.json", "--header", f"Authorization: Bearer {token}",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(MAX_EXAMPLES),
             "--seed", str(SEED), "--workers", "1", "--request-timeout", "30", "--no-color",
             "--generation-database", "none", "--report", "junit", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=400, cwd=tmp_path, check=False)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", report)
    assert selected is not None and selected[1] == selected[2] and int(selected[1]) >= 10, report[-3000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", report), report[-3000:]
    assert "Server error" not in report
