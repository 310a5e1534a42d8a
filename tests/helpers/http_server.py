"""``dihya serve``'s HTTP server (``dihya.http_server``) for a test, on its own event loop in a thread:
a handler that blocks that loop cannot block the test that watches it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from dihya.http_server import http_server
from dihya.settings import Settings


@contextmanager
def served_in_thread(app: ASGIApp, settings: Settings) -> Iterator[str]:
    """Yields the base URL once the server listens; stops it afterwards."""
    server = http_server(app, settings)
    thread = threading.Thread(target=server.run, name="test-http-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the HTTP server did not start"
        time.sleep(0.02)
    try:
        yield f"http://{settings.http_host}:{settings.http_port}"
    finally:
        server.should_exit = True
        thread.join(10)
