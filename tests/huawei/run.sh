#!/usr/bin/env bash
# The Huawei Cloud suite: the official Python SDK (huaweicloudsdkcore,
# huaweicloudsdkvpc, huaweicloudsdkecs, pinned in requirements.txt) against
# the real nicplane binary. Builds nicplane, installs the clients into
# tests/huawei/.venv, starts its own server (see conftest.py) on free
# loopback ports with a fresh data dir, runs pytest, exits non-zero on any
# failure. Extra arguments go to pytest (e.g. `-k tags`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cd "$root"
cargo build -p nicplane

. "$root/scripts/lib/venv.sh"
venv="$here/.venv"
ensure_venv "$venv" pytest "$here/requirements.txt" -r "$here/requirements.txt"

export NICPLANE_BIN="${NICPLANE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/nicplane}"
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
