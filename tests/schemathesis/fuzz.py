"""Run schemathesis against the live /v1/openapi.json of a fresh nicplane.

Starts the real binary (NICPLANE_BIN) on a free loopback port with a fresh
SQLite file (or on NICPLANE_DATABASE_URL's database: scripts/test-postgres
gives it a fresh one), creates a few objects (a VM, a network with a subnet, a security
group, a supplementary interface, a decoy user with an access key), logs in as the cloud admin, then runs every schemathesis phase
with the checks that hold the document to the truth. Exits with
schemathesis's status (non-zero on any failure). Extra arguments go to
`schemathesis run` (for example `--seed 42` to replay a run, or
`--include-operation-id vm_create`).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# Test cases per operation and phase: ~5,000 requests, about a minute on
# two cores. The whole run is also cut off after RUN_TIMEOUT seconds.
MAX_EXAMPLES = int(os.environ.get("NICPLANE_FUZZ_EXAMPLES", "25"))
RUN_TIMEOUT = 600
# Longer than the longest long poll the API documents (60 s).
REQUEST_TIMEOUT = 75
START_TIMEOUT = 60

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
    ]
)


def start_server(binary, data_dir, admin_password):
    """Start nicplane; return the process and the URL it reports."""
    env = dict(os.environ)
    env.update(
        NICPLANE_ADMIN_PASSWORD=admin_password,
        NICPLANE_SECRET_KEY=secrets.token_hex(32),
        NICPLANE_LOG="warn",
    )
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(data_dir, "server.log"), "w"),
        text=True,
    )
    found = {}

    def read():
        for line in proc.stdout:
            if line.startswith("nicplane listening on ") and "url" not in found:
                found["url"] = line.split()[3]
                ready.set()
        ready.set()

    ready = threading.Event()
    threading.Thread(target=read, daemon=True).start()
    ready.wait(START_TIMEOUT)
    if "url" not in found:
        proc.kill()
        sys.exit("nicplane did not report its address")
    return proc, found["url"]


def call(url, method, body=None, token=None):
    req = urllib.request.Request(url, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data=data, timeout=30) as r:
        return json.load(r)


def main():
    binary = os.environ["NICPLANE_BIN"]
    data_dir = tempfile.mkdtemp(prefix="nicplane-schemathesis-")
    password = secrets.token_urlsafe(16)
    proc, url = start_server(binary, data_dir, password)
    try:
        token = call(
            f"{url}/v1/auth/login", "POST", {"username": "admin", "password": password}
        )["token"]
        me = call(f"{url}/v1/auth/whoami", "GET", token=token)
        project = me["memberships"][0]["project_id"]
        # A few real objects whose ids the fuzzer uses half of the time.
        dc = call(f"{url}/v1/data-centers", "GET", token=token)[0]["id"]
        vm = call(
            f"{url}/v1/projects/{project}/vms",
            "POST",
            {"name": "fuzz-vm", "data_center_id": dc},
            token=token,
        )
        decoy = call(
            f"{url}/v1/users",
            "POST",
            {"name": "decoy", "password": secrets.token_urlsafe(16)},
            token=token,
        )
        net = call(
            f"{url}/v1/projects/{project}/networks",
            "POST",
            {
                "name": "fuzz-net",
                "data_center_id": dc,
                "kind": "standard",
                "subnets": [{"cidr": "10.99.0.0/24"}],
            },
            token=token,
        )
        group = call(
            f"{url}/v1/projects/{project}/security-groups",
            "POST",
            {"name": "fuzz-sg"},
            token=token,
        )
        supplementary = call(
            f"{url}/v1/projects/{project}/interfaces/{vm['interfaces'][0]['id']}"
            "/supplementary-interfaces",
            "POST",
            {"network_id": net["id"]},
            token=token,
        )
        credential = call(f"{url}/v1/users/{decoy['id']}/credentials", "POST", {}, token=token)
        env = dict(os.environ)
        env.update(
            NICPLANE_FUZZ_TOKEN=token,
            NICPLANE_FUZZ_USER_ID=me["user"]["id"],
            NICPLANE_FUZZ_PROJECT_ID=project,
            NICPLANE_FUZZ_DATA_CENTER_ID=dc,
            NICPLANE_FUZZ_VM_ID=vm["id"],
            NICPLANE_FUZZ_INTERFACE_ID=vm["interfaces"][0]["id"],
            NICPLANE_FUZZ_NETWORK_ID=vm["interfaces"][0]["network_id"],
            NICPLANE_FUZZ_NETWORK2_ID=net["id"],
            NICPLANE_FUZZ_SUBNET_ID=net["subnets"][0]["id"],
            NICPLANE_FUZZ_SECURITY_GROUP_ID=group["id"],
            NICPLANE_FUZZ_SUPPLEMENTARY_ID=supplementary["id"],
            NICPLANE_FUZZ_ACCESS_KEY=credential["access"],
            NICPLANE_FUZZ_DECOY_ID=decoy["id"],
            SCHEMATHESIS_HOOKS="hooks",
            PYTHONPATH=HERE,
        )
        cmd = [
            os.path.join(os.path.dirname(sys.executable), "schemathesis"),
            "--config-file",
            os.path.join(HERE, "schemathesis.toml"),
            "run",
            f"{url}/v1/openapi.json",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--checks",
            CHECKS,
            # Logging out would revoke the token every other case uses.
            "--exclude-operation-id",
            "auth_logout",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "2",
            # `GET /v1/events?wait=N` may rightly hold its answer up to 60 s
            # (the documented maximum); a timeout below that turned a valid
            # long poll into a "Network Error" (CI of session 11).
            "--request-timeout",
            str(REQUEST_TIMEOUT),
            "--generation-database",
            "none",
            "--no-color",
            *sys.argv[1:],
        ]
        try:
            rc = subprocess.run(cmd, env=env, cwd=HERE, timeout=RUN_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            print(f"schemathesis did not finish within {RUN_TIMEOUT} s", file=sys.stderr)
            rc = 1
    finally:
        proc.kill()
        proc.wait()
    if rc != 0:
        with open(os.path.join(data_dir, "server.log")) as log:
            tail = log.readlines()[-40:]
        print("--- last lines of the server's log ---", *tail, sep="", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
