#!/usr/bin/env bash
# Install Prometheus, Alertmanager and node-exporter (Debian packages) for the real-stack tests.
# Idempotent. No service is started; the test harness runs its own instances on loopback ports.
source "$(dirname "$0")/_apt.sh"
apt_install install-monitoring \
  "prometheus prometheus-alertmanager prometheus-node-exporter" \
  "prometheus prometheus-alertmanager prometheus-node-exporter"
