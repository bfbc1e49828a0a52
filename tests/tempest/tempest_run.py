"""Runs OpenStack's Tempest against a real nicplane and compares the outcome
with the committed list of expected failures and skips (expected.txt).

Starts the dev binary on a free loopback port with a fresh SQLite data
directory (or on the PostgreSQL database named by NICPLANE_DATABASE_URL),
provisions through the native API an admin and PROJECTS projects, each
with a `member` and a `reader` user, writes tempest.conf and
accounts.yaml into a temporary workspace (HOME is a temporary directory too,
so ~/.tempest is never touched), runs `tempest run`, reads the results from
stestr's subunit stream and compares them with expected.txt:

- a test that fails or skips and is not listed fails the run;
- a listed test that passes fails the run (the list only shrinks);
- a listed test whose outcome differs (fail listed, skip seen) fails the run.

It prints exactly which lines to add or remove. With --table FILE it also
writes the compatibility table (docs/tempest-results.md).

Usage: tempest_run.py [--table FILE] [--regex REGEX] [--keep]
"""

import argparse
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import OrderedDict, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.join(HERE, ".venv", "bin")
EXPECTED = os.path.join(HERE, "expected.txt")

# The areas the issue names: the whole network API, and the compute and
# identity classes that touch interfaces, servers and tokens.
DEFAULT_REGEX = (r"^tempest\.api\.(network|compute\.servers\.test_attach_interfaces"
                 r"|compute\.servers\.test_create_server|identity\.v3\.test_tokens)")
ADMIN_PASSWORD = "tempest-admin-pw"
SECRET_KEY = "7e" * 32
PASSWORD = "tempest-user-pw"
# Projects, each with a `member` and a `reader` user: enough for
# --concurrency 2 (each class locks up to two: primary and alt).
PROJECTS = 12
# Cloud admins (the bootstrap admin and ADMINS - 1 more).
ADMINS = 3
# Per-test timeout (seconds) Tempest applies through OS_TEST_TIMEOUT.
TEST_TIMEOUT = 120
# Upper bound on the whole `tempest run` (seconds).
RUN_TIMEOUT = 40 * 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None, expect=(200, 201, 204)):
    """One HTTP call; returns (status, headers, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    if status not in expect:
        raise RuntimeError(f"{method} {path}: {status} {raw[:500]!r}")
    return status, headers, json.loads(raw) if raw else None


def keystone_token(base, user, project, password):
    _, headers, _ = call(base, "POST", "/identity/v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
    return headers["X-Subject-Token"]


def start_server(workdir):
    binary = os.environ.get("NICPLANE_BIN") or os.path.join(HERE, "..", "..", "target", "debug", "nicplane")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, NICPLANE_ADMIN_PASSWORD=ADMIN_PASSWORD, NICPLANE_LOG="warn",
               NICPLANE_SECRET_KEY=SECRET_KEY)
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(workdir, "data")]
    log = open(os.path.join(workdir, "server.log"), "w")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, base, log
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.flush()
            raise RuntimeError("nicplane did not start:\n" + open(os.path.join(workdir, "server.log")).read())
        time.sleep(0.2)


def provision(base, suffix):
    """Users and projects through the native API; returns the accounts and
    the ids tempest.conf needs."""
    admin = keystone_token(base, "admin", "admin", ADMIN_PASSWORD)
    accounts = [{"username": "admin", "project_name": "admin", "password": ADMIN_PASSWORD,
                 "domain_name": "Default", "roles": ["admin"]}]
    # Two classes may hold admin credentials at once (--concurrency 2), so
    # there are more cloud admins, each with a token for project admin.
    for i in range(1, ADMINS):
        name = f"t{suffix}-admin{i}"
        call(base, "POST", "/v1/users", admin, {"name": name, "password": PASSWORD, "is_cloud_admin": True})
        accounts.append({"username": name, "project_name": "admin", "password": PASSWORD,
                         "domain_name": "Default", "roles": ["admin"]})
    # Tempest looks for a `reader` in the project of each `member` it uses,
    # so every project has one of each. The member is a Tenant Administrator:
    # Tempest creates networks and subnets with it. Every member comes before
    # every reader in the file: Tempest's `alt` credentials are the first
    # free account that is not an admin, in file order, and a test that
    # writes with `alt` must get a member, never a read-only reader.
    readers = []
    for i in range(PROJECTS):
        name = f"t{suffix}-p{i}"
        _, _, project = call(base, "POST", "/v1/projects", admin, {"name": name})
        for role, native_role in (("member", "admin"), ("reader", "reader")):
            user_name = f"{name}-{role}"
            _, _, user = call(base, "POST", "/v1/users", admin, {"name": user_name, "password": PASSWORD})
            call(base, "PUT", f"/v1/projects/{project['id']}/members/{user['id']}", admin, {"role": native_role})
            (accounts if role == "member" else readers).append(
                {"username": user_name, "project_name": name, "password": PASSWORD,
                 "domain_name": "Default", "roles": [role]})
    accounts.extend(readers)
    # One registered host, so that Nova's os-hypervisors lists a hypervisor
    # for the port-binding tests (binding:host_id). No agent runs for it: it
    # is never live, so placement puts no VM on it.
    _, _, dcs = call(base, "GET", "/v1/data-centers", admin)
    call(base, "POST", "/v1/hosts", admin, {"name": f"hv-{suffix}", "data_center_id": dcs[0]["id"]})
    _, _, nets = call(base, "GET", "/network/v2.0/networks?router:external=true", admin)
    public = nets["networks"][0]["id"]
    _, _, images = call(base, "GET", "/image/v2/images", admin)
    image = next(i["id"] for i in images["images"] if i["name"] == "cirros")
    _, _, flavors = call(base, "GET", "/compute/v2.1/flavors", admin)
    flavor = sorted(f["id"] for f in flavors["flavors"])[0]
    _, _, exts = call(base, "GET", "/network/v2.0/extensions", admin)
    extensions = sorted(e["alias"] for e in exts["extensions"])
    return accounts, {"public": public, "image": image, "flavor": flavor, "extensions": extensions}


def accounts_yaml(accounts):
    out = []
    for a in accounts:
        out.append(f"- username: '{a['username']}'\n  project_name: '{a['project_name']}'\n"
                   f"  password: '{a['password']}'\n  domain_name: '{a['domain_name']}'\n"
                   f"  roles:\n" + "".join(f"  - '{r}'\n" for r in a["roles"]))
    return "".join(out)


def tempest_conf(base, workdir, ids):
    return f"""[DEFAULT]
log_file = {workdir}/tempest.log
use_stderr = false

[auth]
use_dynamic_credentials = false
test_accounts_file = {workdir}/accounts.yaml
admin_username = admin
admin_password = {ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default
default_credentials_domain_name = Default
create_isolated_networks = false

[identity]
uri_v3 = {base}/identity/v3
auth_version = v3
region = RegionOne
disable_ssl_certificate_validation = true

[identity-feature-enabled]
api_v2 = false

[network]
public_network_id = {ids['public']}
floating_network_name = public
project_network_cidr = 10.100.0.0/16
project_network_mask_bits = 28
project_network_v6_cidr = 2001:db8::/48
project_network_v6_mask_bits = 64
shared_physical_network = false

[network-feature-enabled]
api_extensions = {','.join(ids['extensions'])}
ipv6 = true
ipv6_subnet_attributes = true

[compute]
image_ref = {ids['image']}
image_ref_alt = {ids['image']}
flavor_ref = {ids['flavor']}
flavor_ref_alt = {ids['flavor']}
fixed_network_name =
build_timeout = 60
build_interval = 1
# nicplane's Nova serves microversions 2.1 to 2.96 (docs/openstack.md).
min_microversion = 2.1
max_microversion = 2.96

[compute-feature-enabled]
interface_attach = true
console_output = false
resize = false
snapshot = false
change_password = false
pause = false
suspend = false
shelve = false
rescue = false
live_migration = false
cold_migration = false
vnc_console = false
spice_console = false
serial_console = false
personality = false
attach_encrypted_volume = false

[validation]
run_validation = false

[service_available]
neutron = true
nova = true
glance = false
cinder = false
swift = false
heat = false
horizon = false
"""


def read_expected():
    """expected.txt: `fail|skip  TEST_ID  # reason` per line; returns
    {test_id: (outcome, reason)}."""
    out = OrderedDict()
    with open(EXPECTED) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^(fail|skip)\s+(\S+)\s+#\s*(.+)$", line)
            if not m:
                sys.exit(f"{EXPECTED}:{n}: not `fail|skip  TEST_ID  # reason`: {line}")
            out[m.group(2)] = (m.group(1), m.group(3).strip())
    return out


def strip_id(test_id):
    """A test id without its attribute suffix `[id-...,smoke]`."""
    return re.sub(r"\[.*\]$", "", test_id)


def read_results(workspace, env):
    """{test_id: 'pass'|'fail'|'skip'} from the last stestr run."""
    sub = subprocess.run([os.path.join(VENV_BIN, "stestr"), "last", "--subunit"], cwd=workspace, env=env,
                         capture_output=True, timeout=120)
    rows = subprocess.run([os.path.join(VENV_BIN, "subunit2csv")], input=sub.stdout, capture_output=True,
                          timeout=120, env=env)
    results = {}
    for row in csv.DictReader(io.StringIO(rows.stdout.decode())):
        test, status = strip_id(row["test"]), row["status"]
        # setUpClass failures appear as `setUpClass (tempest.api....Class)`.
        m = re.match(r"^setUpClass \((.+)\)$", test)
        if m:
            test = m.group(1)
        outcome = {"success": "pass", "xfail": "pass", "skip": "skip"}.get(status, "fail")
        # A class id (from setUpClass) keeps the worst outcome.
        if results.get(test) == "fail":
            continue
        results[test] = outcome
    return results


def compare(results, expected, regex):
    """The lines to add to and remove from expected.txt (listed tests outside
    `regex` are not expected to run)."""
    problems = []
    for test, outcome in sorted(results.items()):
        listed = expected.get(test)
        if outcome == "pass" and listed:
            problems.append(f"now passes, remove from expected.txt: {listed[0]}  {test}  # {listed[1]}")
        elif outcome != "pass" and not listed:
            problems.append(f"unexpected {outcome}, fix it (or list it with a reason): {outcome}  {test}  # ?")
        elif outcome != "pass" and listed[0] != outcome:
            problems.append(f"listed as {listed[0]} but was {outcome}: change the line to "
                            f"`{outcome}  {test}  # {listed[1]}`")
    for test, (outcome, reason) in expected.items():
        if test not in results and re.search(regex, test):
            problems.append(f"listed but did not run, remove or fix the id: {outcome}  {test}  # {reason}")
    return problems


def area_of(test):
    """tempest.api.network.test_ports.PortsTestJSON.test_x -> network.test_ports.PortsTestJSON"""
    parts = test.split(".")
    # A class id (setUpClass) has no test method.
    if parts[-1].startswith("test_"):
        parts = parts[:-1]
    return ".".join(parts[2:])


def write_table(path, results, expected, elapsed):
    per = defaultdict(lambda: {"pass": 0, "fail": 0, "skip": 0})
    for test, outcome in results.items():
        per[area_of(test)][outcome] += 1
    total = {k: sum(v[k] for v in per.values()) for k in ("pass", "fail", "skip")}
    lines = [
        "# Tempest compatibility results",
        "",
        "Generated by `tests/tempest/run.sh --table docs/tempest-results.md` (Tempest 47.0.0, pinned in",
        "tests/tempest/requirements.lock) against the dev build on SQLite; regenerate it",
        "whenever expected.txt changes. The selection is",
        f"`{DEFAULT_REGEX}`.",
        "",
        f"**{total['pass']} passed, {total['fail']} failed, {total['skip']} skipped** "
        f"(of {sum(total.values())}; {elapsed:.0f} s at --concurrency 2).",
        "",
        "Every failure and skip is listed with its reason in tests/tempest/expected.txt; the run fails",
        "when a test outside that list fails or a listed one starts passing.",
        "",
        "| area / class | passed | failed | skipped |",
        "| --- | ---: | ---: | ---: |",
    ]
    for area in sorted(per):
        v = per[area]
        lines.append(f"| {area} | {v['pass']} | {v['fail']} | {v['skip']} |")
    lines += ["", "## Expected failures and skips", "", "| outcome | test | reason |", "| --- | --- | --- |"]
    for test, (outcome, reason) in expected.items():
        lines.append(f"| {outcome} | {test.replace('tempest.api.', '')} | {reason} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regex", default=DEFAULT_REGEX)
    ap.add_argument("--table", help="write the compatibility table (markdown) to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()
    expected = read_expected()

    workdir = tempfile.mkdtemp(prefix="nicplane-tempest-")
    home = os.path.join(workdir, "home")
    os.makedirs(home)
    proc, base, log = start_server(workdir)
    code = 1
    try:
        suffix = os.urandom(3).hex()
        accounts, ids = provision(base, suffix)
        with open(os.path.join(workdir, "accounts.yaml"), "w") as f:
            f.write(accounts_yaml(accounts))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(HOME=home, OS_TEST_TIMEOUT=str(TEST_TIMEOUT),
                   PATH=VENV_BIN + os.pathsep + env.get("PATH", ""))
        workspace = os.path.join(workdir, "ws")
        subprocess.run([os.path.join(VENV_BIN, "tempest"), "init", "--name", f"nicplane-{suffix}", workspace],
                       env=env, check=True, capture_output=True, timeout=120)
        with open(os.path.join(workspace, "etc", "tempest.conf"), "w") as f:
            f.write(tempest_conf(base, workdir, ids))
        started = time.time()
        print(f"tempest run --regex '{args.regex}' --concurrency {args.concurrency} (workspace {workspace})",
              flush=True)
        run = subprocess.run([os.path.join(VENV_BIN, "tempest"), "run", "--regex", args.regex,
                              "--concurrency", str(args.concurrency)],
                             cwd=workspace, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        elapsed = time.time() - started
        with open(os.path.join(workdir, "tempest-run.out"), "w") as f:
            f.write(run.stdout + run.stderr)
        results = read_results(workspace, env)
        if not results:
            print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
            sys.exit("tempest ran no test")
        counts = {k: sum(1 for v in results.values() if v == k) for k in ("pass", "fail", "skip")}
        if args.table:
            write_table(args.table, results, expected, elapsed)
            print(f"wrote {args.table}")
        problems = compare(results, expected, args.regex)
        for p in problems:
            print(p)
        print(f"Tempest ({elapsed:.0f} s): {counts['pass']} passed, {counts['fail']} failed, "
              f"{counts['skip']} skipped; expected failures and skips: {len(expected)}")
        if problems:
            print(f"{len(problems)} difference(s) from tests/tempest/expected.txt "
                  f"(tempest output and log kept in {workdir})")
            args.keep = True
        else:
            print("tempest: the outcome matches tests/tempest/expected.txt")
            code = 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if args.keep:
            print("workdir kept:", workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
