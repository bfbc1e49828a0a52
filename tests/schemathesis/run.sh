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

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -q && apt-get install -y -q python3 python3-venv
fi
venv="$here/.venv"
if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s "$here/requirements.txt" "$venv/.installed"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/.installed"
fi

export NICPLANE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nicplane"
exec "$venv/bin/python" "$here/fuzz.py" "$@"
