"""Ansible inventories Dihya builds (kept apart from the runner so callers need not load ansible-runner)."""

from __future__ import annotations

import sys
from typing import Any


def localhost_inventory() -> dict[str, Any]:
    """An inventory of this machine alone, run with this interpreter (the demo catalog's target)."""
    return {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                            "ansible_python_interpreter": sys.executable}}}}
