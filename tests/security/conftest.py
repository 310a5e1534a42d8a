"""Apps with a clock the test moves, for the security regressions of issue 10."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, engine: Engine, clock: Clock) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine, clock=clock)
    await built.start()
    yield built
    await built.stop()
