"""Store methods for alerts and incidents, mixed into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine


class AlertsSql:
    __slots__ = ()
    engine: Engine
