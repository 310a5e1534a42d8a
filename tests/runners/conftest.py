"""The real Docker Engine API (Podman) and registry, started once for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.podman import PodmanEngine, running_podman


@pytest.fixture(scope="session")
def podman_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanEngine]:
    with running_podman(tmp_path_factory.mktemp("podman")) as engine:
        yield engine


@pytest.fixture
def podman(podman_session: PodmanEngine) -> Iterator[PodmanEngine]:
    """The engine with no container and no local image: every test pulls from the registry."""
    podman_session.reset()
    yield podman_session
    podman_session.reset()
