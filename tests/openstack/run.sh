#!/usr/bin/env bash
# The OpenStack suite: builds nicplane, installs the pinned real clients
# (python-openstackclient, openstacksdk, python-novaclient) into
# tests/openstack/.venv, then runs pytest, which starts the real binary on a
# free loopback port with a fresh data directory. Exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cd "$root"
cargo build -p nicplane

. "$root/scripts/lib/venv.sh"
ensure_venv "$here/.venv" openstack "$here/requirements.lock" \
    -r "$here/requirements.txt" -c "$here/requirements.lock"

export NICPLANE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nicplane"
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
