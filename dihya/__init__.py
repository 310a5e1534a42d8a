"""Dihya's application layer: settings, the SQL store, the runtime that joins core and adapters, the CLI."""

from bot import __version__

__all__ = ["__version__"]
