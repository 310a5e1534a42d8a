"""The embedded default's inventory: this machine, so that the published API examples
(``scripts/`` on target ``all``, ``monitoring/?serveur_id=1``) have a server to name on a fresh start.

Added once, by ``dihya serve`` and ``dihya console`` when the demo catalog is in use and the inventory
is empty; a person who removes it does not see it come back. The address is loopback, which
``servers add`` refuses unless ``[inventory] allow_addresses`` lists it: the demo playbooks run with
``connection: local`` and never connect to it, and runs accept it under this name only (``DEMO_SERVER``).
"""

from __future__ import annotations

from bot.catalog import DEMO, DEMO_SERVER
from dihya.app import App

SEEDED = "demo:inventory-seeded"


def seed_demo_inventory(app: App) -> bool:
    """Add ``DEMO_SERVER`` the first time the embedded default starts; whether it was added."""
    store = app.store
    if app.bot.services.catalog is not DEMO or store.kv_get(SEEDED) is not None:
        return False
    added = not store.servers() and store.add_server(DEMO_SERVER)
    store.kv_set(SEEDED, "1")
    return added
