#!/usr/bin/env bash
# The schemathesis suite: builds nicplane, installs schemathesis (pinned with
# its dependencies in requirements.txt) into tests/schemathesis/.venv, then
# fuzz.py starts the real binary on a free loopback port with a fresh SQLite
# file (or NICPLANE_DATABASE_URL's database), logs in as the cloud admin and runs every schemathesis phase against
# the live /v1/openapi.json with the checks not_a_server_error,
# status_code_conformance, response_schema_conformance and
# content_type_conformance (logout excluded). Exits non-zero on any failure.
# Extra arguments go to `schemathesis run` (e.g. `--seed 42`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cd "$root"
cargo build -p nicplane

. "$root/scripts/lib/venv.sh"
venv="$here/.venv"
ensure_venv "$venv" schemathesis "$here/requirements.txt" -r "$here/requirements.txt"

export NICPLANE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nicplane"
exec "$venv/bin/python" "$here/fuzz.py" "$@"
