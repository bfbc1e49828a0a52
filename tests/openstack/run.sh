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

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -q && apt-get install -y -q python3 python3-venv
fi
if [ ! -x "$here/.venv/bin/openstack" ] || ! cmp -s "$here/requirements.lock" "$here/.venv/.installed" ; then
    rm -rf "$here/.venv"
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" -c "$here/requirements.lock"
    cp "$here/requirements.lock" "$here/.venv/.installed"
fi

export NICPLANE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nicplane"
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
