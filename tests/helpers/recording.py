"""The real runtime, also keeping every event it was given (to see what reached the core)."""

from __future__ import annotations

from bot.events import Event
from dihya.app import App
from dihya.runtime import Runtime


class RecordingRuntime(Runtime):
    __slots__ = ("events",)

    def __init__(self, app: App) -> None:
        super().__init__(app.bot, app.redactor, app.settings.audit_flush_ms)
        self.events: list[Event] = []

    async def dispatch(self, event: Event) -> None:
        self.events.append(event)
        await super().dispatch(event)
