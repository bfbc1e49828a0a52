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

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
fi
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"

export NICPLANE_BIN="${NICPLANE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/nicplane}"
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
