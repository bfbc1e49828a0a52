#!/usr/bin/env bash
# Install what the data-plane tests (crates/nicplane/tests/agent.rs) need
# beyond iproute2: ping (iputils-ping). Debian; needs root, as the tests do.
# Idempotent: does nothing when ping is there, or when not root (the tests
# then say they are skipped).
set -euo pipefail
command -v ping >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "dataplane-deps: not root; the data-plane tests will be skipped" >&2
    exit 0
fi
command -v ip >/dev/null 2>&1 || pkgs="iproute2 " 
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq ${pkgs:-}iputils-ping >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq ${pkgs:-}iputils-ping >/dev/null 2>&1 || {
        echo "dataplane-deps: cannot install iputils-ping with apt-get" >&2
        exit 1
    }
fi
command -v ping >/dev/null 2>&1 || { echo "dataplane-deps: ping still missing" >&2; exit 1; }
