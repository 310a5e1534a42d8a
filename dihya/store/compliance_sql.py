"""Store methods for secrets, retention, GDPR and identity links, mixed into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine


class ComplianceSql:
    __slots__ = ()
    engine: Engine
