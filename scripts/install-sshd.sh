#!/usr/bin/env bash
# Install OpenSSH's server (Debian package) for the remote-target tests: scripts and log files on
# inventory servers run through Ansible over SSH. No service is started here; the test harness
# (tests/servers/sshd.py) runs its own sshd on a free loopback port with its own keys.
source "$(dirname "$0")/_apt.sh"
apt_install install-sshd "openssh-server" "sshd"
