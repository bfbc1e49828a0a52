#!/usr/bin/env bash
# OpenStack's own API tests (Tempest, pinned in requirements.lock) against the
# real nicplane: builds the dev binary, installs Tempest into
# tests/tempest/.venv, then tempest_run.py starts the server on a free
# loopback port with a fresh SQLite directory (PostgreSQL when
# NICPLANE_DATABASE_URL is set), provisions accounts, runs Tempest over the
# network, server and token areas and compares the outcome with
# expected.txt. Exits non-zero on any difference.
# Arguments go to tempest_run.py: --table docs/tempest-results.md writes the
# compatibility table; --regex REGEX narrows the selection; --keep keeps the
# temporary workspace (tempest.conf, tempest.log, server.log).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cd "$root"
cargo build -p nicplane

. "$root/scripts/lib/venv.sh"
ensure_venv "$here/.venv" tempest "$here/requirements.lock" \
    -r "$here/requirements.txt" -c "$here/requirements.lock"

export NICPLANE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nicplane"
exec "$here/.venv/bin/python" "$here/tempest_run.py" "$@"
