"""A real OpenSSH server on a free loopback port, the remote host of the Ansible-over-SSH tests.

Its own host key, client key, ``known_hosts`` and config in the test's directory; no PAM, no
password, key login only, as the user the tests run as. ``scripts/install-sshd.sh`` installs the
Debian package; nothing of the machine's own SSH setup is used or changed.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.ports import free_port

READY_SECONDS = 15.0
PYTHON = "/usr/bin/python3"  # the server's own Python (a pyenv shim in PATH would not work over SSH)


@dataclass(frozen=True, slots=True)
class SshHost:
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    home: Path  # a folder the remote tests may write log files into

    def settings_env(self) -> dict[str, str]:
        """The settings that point Dihya's Ansible runs at this host."""
        return {"DIHYA_SSH_USER": self.user, "DIHYA_SSH_PORT": str(self.port),
                "DIHYA_SSH_KEY_FILE": str(self.key_file), "DIHYA_SSH_KNOWN_HOSTS": str(self.known_hosts),
                "DIHYA_SSH_PYTHON": PYTHON}


def sshd_binary() -> str | None:
    return shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd",) if Path(p).is_file()), None)


@contextlib.contextmanager
def running_sshd(workdir: Path) -> Iterator[SshHost]:
    binary = sshd_binary()
    if binary is None:
        raise RuntimeError("sshd is missing: run scripts/install-sshd.sh")
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o700)
    host_key, user_key = workdir / "host_ed25519", workdir / "user_ed25519"
    for key in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = workdir / "authorized_keys"
    shutil.copy(f"{user_key}.pub", authorized)
    authorized.chmod(0o600)
    port = free_port()
    known = workdir / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text().strip()}\n", encoding="utf-8")
    config = workdir / "sshd_config"
    config.write_text("\n".join((
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"AuthorizedKeysFile {authorized}",
        f"PidFile {workdir / 'sshd.pid'}", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp",
        "LogLevel ERROR", "")), encoding="utf-8")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege-separation directory
    home = workdir / "remote"
    home.mkdir()
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "sshd.log", "wb"))  # noqa: SIM115 - closed with the process
    try:
        _wait_listening(port, proc)
        yield SshHost(port, getpass.getuser(), user_key, known, home)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if sock.recv(4).startswith(b"SSH"):
                return
        time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


__all__ = ["SshHost", "running_sshd", "sshd_binary"]
