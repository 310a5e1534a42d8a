"""Tables for alerts and incidents (Alertmanager groups, acknowledgements, silences, incident timelines)."""

from __future__ import annotations

from dihya.store.models import Base

__all__ = ["Base"]
