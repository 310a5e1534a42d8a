"""Grafana annotations: each deploy and each pipeline result marks the dashboards' time axis.

``POST /api/annotations`` with a service-account token (``DIHYA_GRAFANA_URL`` and
``DIHYA_GRAFANA_TOKEN``). An annotation is a courtesy: a Grafana that is down or refuses is
logged and never fails the deploy or the run it describes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger("dihya.grafana")


class Annotations(Protocol):
    def annotate(self, text: str, tags: Sequence[str]) -> bool: ...


class NoAnnotations:
    def annotate(self, text: str, tags: Sequence[str]) -> bool:  # noqa: ARG002 - Grafana not configured
        return False


class GrafanaAnnotations:
    def __init__(self, url: str, token: str, timeout_s: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self._url = f"{url.rstrip('/')}/api/annotations"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout_s
        self._clock = clock

    def annotate(self, text: str, tags: Sequence[str]) -> bool:
        import httpx  # only where Grafana is configured: the embedded default starts without it

        body = {"time": int(self._clock() * 1000), "tags": ["dihya", *tags], "text": text}
        try:
            response = httpx.post(self._url, json=body, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError:
            log.warning("grafana unreachable; annotation skipped")
            return False
        if response.status_code != 200:
            log.warning("grafana refused the annotation", extra={"status": response.status_code})
            return False
        return True
