"""Ansible inventories Dihya builds (kept apart from the runner so callers need not load ansible-runner)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dihya.settings import Settings


def localhost_inventory() -> dict[str, Any]:
    """An inventory of this machine alone, run with this interpreter (the demo catalog's target)."""
    return {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                            "ansible_python_interpreter": sys.executable}}}}


def ssh_vars(settings: Settings) -> dict[str, str]:
    """How Ansible reaches inventory servers: ``DIHYA_SSH_USER``, ``_PORT``, ``_KEY_FILE`` and
    ``_KNOWN_HOSTS``, ``_PYTHON`` (host keys are always checked; with a known-hosts file, against it alone)."""
    found: dict[str, str] = {}
    if settings.ssh_user:
        found["ansible_user"] = settings.ssh_user
    if settings.ssh_port:
        found["ansible_port"] = str(settings.ssh_port)
    if settings.ssh_key_file:
        found["ansible_ssh_private_key_file"] = str(settings.ssh_key_file)
    if settings.ssh_python:
        found["ansible_python_interpreter"] = settings.ssh_python
    options = ["-o BatchMode=yes", "-o StrictHostKeyChecking=yes"]
    if settings.ssh_known_hosts:
        options.append(f"-o UserKnownHostsFile={settings.ssh_known_hosts}")
    found["ansible_ssh_common_args"] = " ".join(options)
    return found
