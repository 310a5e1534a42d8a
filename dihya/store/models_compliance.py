"""Tables for compliance: encrypted secrets, retention checkpoints, identity links."""

from __future__ import annotations

from dihya.store.models import Base

__all__ = ["Base"]
