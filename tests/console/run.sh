#!/usr/bin/env bash
# End-to-end tests of the web console in headless Chromium.
#
# Installs what it needs (Debian's chromium, the pinned playwright-core into
# tests/console/node_modules), builds nicplane, starts it with --demo on a
# free loopback port with a fresh data dir, runs the tests with node's test
# runner and stops the server. Screenshots go to artifacts/screenshots/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
# A small public pool (14 addresses), so a test can exhaust it.
PUBLIC_CIDR="203.0.113.0/28"

log() { printf '[console] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- the browser -----------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  log "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -qq chromium >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq chromium >/dev/null
  fi
fi
"$CHROMIUM_PATH" --version 2>/dev/null || true

# --- Node.js (runs the tests and installs playwright-core) -------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -qq nodejs npm >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq nodejs npm >/dev/null
  fi
fi
node --version

# --- the client library ----------------------------------------------------
cd "$HERE"
# playwright-core drives the browser; axe-core is injected into the page for
# the accessibility checks. Both are pinned in package.json.
pinned() {
  node -p "const d = require('./package.json').devDependencies; Object.keys(d).sort().map(k => k + '@' + d[k]).join(' ')"
}
installed() {
  node -p "const d = require('./package.json').devDependencies; Object.keys(d).sort().map(k => { try { return k + '@' + require('./node_modules/' + k + '/package.json').version } catch { return k + '@' } }).join(' ')"
}
if [ "$(pinned)" != "$(installed)" ]; then
  log "installing $(pinned)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- the server ------------------------------------------------------------
cd "$ROOT"
if [ -n "${NICPLANE_BIN:-}" ]; then
  BIN="$NICPLANE_BIN"
else
  log "building nicplane"
  cargo build -q -p nicplane
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/nicplane"
fi

DATA_DIR="$(mktemp -d -t nicplane-console-XXXXXX)"
SERVER_PID=""
cleanup() {
  status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$DATA_DIR/server.log" ]; then
    log "server log (last 40 lines):"
    tail -n 40 "$DATA_DIR/server.log" >&2 || true
  fi
  rm -rf "$DATA_DIR"
  exit "$status"
}
trap cleanup EXIT INT TERM

PORT="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
export NICPLANE_URL="http://127.0.0.1:$PORT"
export NICPLANE_ADMIN_PASSWORD="console-test-admin-$RANDOM$RANDOM"
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" --demo --public-cidr "$PUBLIC_CIDR" \
  >"$DATA_DIR/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if node -e "fetch(process.env.NICPLANE_URL + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "nicplane exited during start"
    exit 1
  fi
  sleep 0.2
done
node -e "fetch(process.env.NICPLANE_URL + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" \
  || { log "nicplane did not become healthy"; exit 1; }

# --- the tests -------------------------------------------------------------
export SCREENSHOT_DIR="$ROOT/artifacts/screenshots"
export CHROMIUM_PATH
mkdir -p "$SCREENSHOT_DIR"
cd "$HERE"
log "running the console tests against $NICPLANE_URL"
node --test --test-reporter=spec console.test.mjs
log "screenshots: $SCREENSHOT_DIR"
