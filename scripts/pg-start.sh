#!/usr/bin/env bash
# Start a throwaway PostgreSQL for tests and benchmarks, and print its URL.
#
#   scripts/pg-start.sh DIR PORT    -> postgres://postgres@127.0.0.1:PORT/nicplane
#
# DIR holds the cluster (DIR/data), its socket and its log (DIR/postgres.log);
# use a fresh temporary directory. The server listens on 127.0.0.1:PORT only,
# trusts every local connection, and has a database named "nicplane".
# Installs Debian's PostgreSQL if its binaries are missing. initdb refuses to
# run as root, so as root the server runs as the "postgres" user and DIR is
# handed to that user. Idempotent: a running cluster is left as it is.
# Stop it with scripts/pg-stop.sh DIR.
set -euo pipefail

usage="usage: $0 DIR PORT"
dir=${1:?$usage}
port=${2:?$usage}
case $port in '' | *[!0-9]*) echo "$usage (PORT must be a number)" >&2; exit 2 ;; esac
PG_VERSION=${PG_VERSION:-15}
bin=${PG_BIN:-/usr/lib/postgresql/$PG_VERSION/bin}
db=nicplane

fail() {
    echo "pg-start: $*" >&2
    if [ -f "$dir/setup.log" ]; then tail -n 20 "$dir/setup.log" >&2; fi
    if [ -f "$dir/postgres.log" ]; then tail -n 20 "$dir/postgres.log" >&2; fi
    exit 1
}

if [ ! -x "$bin/initdb" ]; then
    [ "$(id -u)" = 0 ] || fail "$bin/initdb is missing; install PostgreSQL $PG_VERSION (apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null 2>&1 ||
            fail "cannot install postgresql-$PG_VERSION with apt-get"
    fi
    [ -x "$bin/initdb" ] || fail "$bin/initdb is still missing after installing postgresql-$PG_VERSION"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

# Run a PostgreSQL program as the cluster's owner.
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

if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fail "there is no postgres user (it comes with the postgresql package)"
    chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner test -w "$dir" ||
        fail "the postgres user cannot enter $dir; pass a directory whose parents it can enter, such as one made by mktemp -d"
fi
: >"$dir/setup.log"
[ "$(id -u)" = 0 ] && chown postgres: "$dir/setup.log"

if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >>"$dir/setup.log" 2>&1 || fail "initdb failed"
fi

if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=200" \
        start >>"$dir/setup.log" 2>&1 || fail "the server did not start on 127.0.0.1:$port"
fi

psql() { as_owner "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres "$@"; }
if [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>>"$dir/setup.log")" != 1 ]; then
    psql -d postgres -c "CREATE DATABASE $db" >>"$dir/setup.log" 2>&1 ||
        fail "cannot create the database $db (is another server on port $port?)"
fi

echo "postgres://postgres@127.0.0.1:$port/$db"
