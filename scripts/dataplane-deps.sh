#!/usr/bin/env bash
# Install what the data-plane tests (crates/nicplane/tests/agent*.rs) need
# beyond iproute2: ping (iputils-ping), nft (nftables: public IPs are NAT
# in router namespaces, security groups are filters in the fabric namespace)
# and nsenter (util-linux: the agent runs its commands in a namespace with it). Debian; needs root, as the tests
# do. Idempotent: does nothing when both are there, or when not root (the
# tests then say they are skipped).
set -euo pipefail
have() { command -v ping >/dev/null 2>&1 && command -v nft >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1; }
have && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "dataplane-deps: not root; the data-plane tests will be skipped" >&2
    exit 0
fi
pkgs="iputils-ping nftables util-linux"
if ! command -v ip >/dev/null 2>&1; then pkgs="iproute2 $pkgs"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq $pkgs >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq $pkgs >/dev/null 2>&1 || {
        echo "dataplane-deps: cannot install $pkgs with apt-get" >&2
        exit 1
    }
fi
have || { echo "dataplane-deps: ping, nft or nsenter still missing" >&2; exit 1; }
