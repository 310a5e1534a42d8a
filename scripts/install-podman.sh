#!/usr/bin/env bash
# Install Podman (a Docker Engine API), runc, a static busybox and docker-registry (Debian packages)
# for the Docker runner's real-engine tests. Idempotent. No service is started; the test harness
# (tests/servers/podman.py) runs its own engine and registry with private storage on a private
# socket and a free loopback port.
source "$(dirname "$0")/_apt.sh"
apt_install install-podman "podman runc busybox-static docker-registry" "podman runc busybox docker-registry"
