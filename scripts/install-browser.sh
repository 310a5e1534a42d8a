#!/usr/bin/env bash
# Install Debian's Chromium for the test that renders the API docs page headless, offline
# (tests/api/test_docs_offline.py). Idempotent; no browser build is downloaded from elsewhere.
source "$(dirname "$0")/_apt.sh"
apt_install install-browser "chromium" "chromium"
