#!/usr/bin/env bash
# Stop a PostgreSQL started by scripts/pg-start.sh DIR PORT. Idempotent: a
# stopped or missing cluster is fine. The data stays in DIR; remove DIR to
# throw it away.
set -euo pipefail

dir=${1:?usage: $0 DIR}
bin=${PG_BIN:-/usr/lib/postgresql/${PG_VERSION:-15}/bin}
data=$dir/data

[ -f "$data/PG_VERSION" ] || exit 0
[ -x "$bin/pg_ctl" ] || exit 0

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
fi
