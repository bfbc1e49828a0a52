# Sourced by the suites' run.sh scripts: one way to make a pinned Python venv.
#
#   ensure_venv DIR MARKER_PROGRAM STAMP_FILE PIP_ARGS...
#
# Creates DIR with the machine's python3 (installing Debian's python3-venv
# first when python3 or its venv module is missing) and installs PIP_ARGS
# into it, unless DIR/bin/MARKER_PROGRAM exists and DIR/.installed equals
# STAMP_FILE (the lock or requirements file). A failed creation or install is
# retried once from scratch, with the free space of the disk and of the
# temporary directory printed, since a full disk is what makes ensurepip or
# pip fail without saying why.
ensure_venv() {
    local dir=$1 marker=$2 stamp=$3
    shift 3
    if [ -x "$dir/bin/$marker" ] && cmp -s "$stamp" "$dir/.installed"; then
        return 0
    fi
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt-get update -q && apt-get install -y -q python3 python3-venv
    fi
    local attempt
    for attempt in 1 2; do
        rm -rf "$dir"
        if python3 -m venv "$dir" &&
            "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"; then
            cp "$stamp" "$dir/.installed"
            return 0
        fi
        echo "venv: making $dir failed (attempt $attempt); free space:" >&2
        df -h "$dir/.." "${TMPDIR:-/tmp}" >&2 || true
    done
    rm -rf "$dir"
    return 1
}
