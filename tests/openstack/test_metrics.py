"""`GET /metrics` read by the real Prometheus parsers (issue 15).

A server of its own (so its counters start at zero), with the metrics
listener on: a known sequence of Keystone, native, Neutron and Nova requests,
then one scrape in the Prometheus text format parsed by
`prometheus_client.parser.text_string_to_metric_families` and one in
OpenMetrics parsed by `prometheus_client.openmetrics.parser`, each checked
sample by sample. On PostgreSQL (NICPLANE_DATABASE_URL set by
scripts/test-postgres) the server shares the suite's database; every count
checked here is of this server's requests or of objects this test created.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_families

from conftest import ADMIN_PASSWORD, SECRET_KEY, free_port

NEUTRON = "/network/v2.0"
PASSWORD = "metrics-password-15"


@pytest.fixture(scope="module")
def server():
    binary = os.environ.get("NICPLANE_BIN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "target", "debug", "nicplane")
    workdir = tempfile.mkdtemp(prefix="nicplane-metrics-")
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, NICPLANE_ADMIN_PASSWORD=ADMIN_PASSWORD, NICPLANE_LOG="warn",
               NICPLANE_SECRET_KEY=SECRET_KEY)
    log = open(os.path.join(workdir, "server.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                             os.path.join(workdir, "data"), "--metrics-listen", f"127.0.0.1:{metrics_port}",
                             "--metrics-max-objects", "100000"], env=env, stdout=log, stderr=log)
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        # Wait on the metrics listener: the tenant listener's counters stay at zero.
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(metrics, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError("nicplane did not start:\n" + open(os.path.join(workdir, "server.log")).read())
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", metrics
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def keystone_token(base, user, password, project=None, project_name=None):
    scope = {"project": {"id": project}} if project else \
        {"project": {"name": project_name, "domain": {"name": "Default"}}}
    r = requests.post(base + "/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": scope}})
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def call(base, token, method, path, status, body=None):
    r = requests.request(method, base + path, headers={"X-Auth-Token": token}, json=body)
    assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def samples(families):
    """{(sample name, frozenset of labels): value} of every sample."""
    out = {}
    for family in families:
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate sample {key}"
            out[key] = s.value
    return out


def by_name(scrape, name):
    """{frozenset of labels: value} of one sample name."""
    return {labels: v for (n, labels), v in scrape.items() if n == name}


def req(dialect, method, route, status):
    return frozenset({"dialect": dialect, "method": method, "route": route, "status": status}.items())


@pytest.fixture(scope="module")
def sequence(server):
    """The known sequence of requests; returns what it created."""
    base, _ = server
    suffix = uuid.uuid4().hex[:6]
    admin = keystone_token(base, "admin", ADMIN_PASSWORD, project_name="admin")
    project = call(base, admin, "POST", "/v1/projects", 201, {"name": f"metrics-{suffix}"})["id"]
    user = call(base, admin, "POST", "/v1/users", 201, {"name": f"metrics-{suffix}", "password": PASSWORD})["id"]
    call(base, admin, "PUT", f"/v1/projects/{project}/members/{user}", 200, {"role": "admin"})
    token = keystone_token(base, f"metrics-{suffix}", PASSWORD, project=project)
    net = call(base, token, "POST", f"{NEUTRON}/networks", 201, {"network": {"name": "m-net"}})["network"]["id"]
    subnet = call(base, token, "POST", f"{NEUTRON}/subnets", 201, {"subnet": {
        "network_id": net, "cidr": "10.99.0.0/28", "ip_version": 4, "name": "m-v4"}})["subnet"]["id"]
    for i in range(3):
        call(base, token, "POST", f"{NEUTRON}/ports", 201, {"port": {"network_id": net, "name": f"m-{i}"}})
    for _ in range(2):
        call(base, token, "GET", f"{NEUTRON}/ports", 200)
    call(base, token, "GET", f"{NEUTRON}/ports/{uuid.uuid4()}", 404)
    call(base, token, "GET", "/compute/v2.1/servers", 200)
    return {"project": project, "network": net, "subnet": subnet}


def expected_requests():
    return {
        req("keystone", "POST", "/identity/v3/auth/tokens", "201"): 2.0,
        req("native", "POST", "/v1/projects", "201"): 1.0,
        req("native", "POST", "/v1/users", "201"): 1.0,
        req("native", "PUT", "/v1/projects/{project_id}/members/{user_id}", "200"): 1.0,
        req("neutron", "POST", "/network/v2.0/networks", "201"): 1.0,
        req("neutron", "POST", "/network/v2.0/subnets", "201"): 1.0,
        req("neutron", "POST", "/network/v2.0/ports", "201"): 3.0,
        req("neutron", "GET", "/network/v2.0/ports", "200"): 2.0,
        req("neutron", "GET", "/network/v2.0/ports/{id}", "404"): 1.0,
        req("nova", "GET", "/compute/v2.1/servers", "200"): 1.0,
    }


def check(scrape, created):
    assert by_name(scrape, "nicplane_http_requests_total") == expected_requests()
    route = frozenset({"dialect": "neutron", "method": "GET", "route": "/network/v2.0/ports"}.items())
    assert by_name(scrape, "nicplane_http_request_duration_seconds_count")[route] == 2.0
    assert by_name(scrape, "nicplane_http_request_duration_seconds_bucket")[
        route | {("le", "+Inf")}] == 2.0
    backend = "postgres" if os.environ.get("NICPLANE_DATABASE_URL") else "sqlite"
    assert by_name(scrape, "nicplane_store_info") == {frozenset({"backend": backend}.items()): 1.0}
    subnet = frozenset({"subnet_id": created["subnet"], "network_id": created["network"],
                        "project_id": created["project"], "cidr": "10.99.0.0/28"}.items())
    # 13 addresses in a /28's pool; the three ports hold three.
    assert by_name(scrape, "nicplane_subnet_pool_addresses")[subnet] == 13.0
    assert by_name(scrape, "nicplane_subnet_free_addresses")[subnet] == 10.0
    in_use = {dict(labels)["resource"]: v for labels, v in by_name(scrape, "nicplane_quota_in_use").items()
              if dict(labels)["project_id"] == created["project"]}
    # The project's subnets as the capacity series list them (one per
    # subnet row): m-net's and those of its Default Network in each data
    # center (an IPv4 and an IPv6 subnet each; on PostgreSQL the suite's
    # database has more data centers than the one a fresh SQLite file has).
    own = [dict(labels) for labels in by_name(scrape, "nicplane_subnet_pool_addresses")
           if dict(labels)["project_id"] == created["project"]]
    networks = {s["network_id"] for s in own}
    assert created["network"] in networks and len(own) == 2 * (len(networks) - 1) + 1
    # Those counts from the quota counters the writes keep; the default
    # security group with its four rules; three ports.
    assert in_use == {"network": float(len(networks)), "subnet": float(len(own)), "port": 3.0,
                      "security_group": 1.0, "security_group_rule": 4.0}
    pools = {dict(labels)["pool"]: v for labels, v in by_name(scrape, "nicplane_public_pool_addresses").items()}
    assert pools["public"] == 253.0
    assert by_name(scrape, "nicplane_capacity_up") == {frozenset(): 1.0}


def test_a_prometheus_text_scrape_counts_the_known_requests(server, sequence):
    _, metrics = server
    r = requests.get(metrics)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = list(prometheus_families(r.text))
    types = {f.name: f.type for f in families}
    assert types["nicplane_http_requests"] == "counter"
    assert types["nicplane_http_request_duration_seconds"] == "histogram"
    assert types["nicplane_store_commit_duration_seconds"] == "histogram"
    assert types["nicplane_subnet_free_addresses"] == "gauge"
    check(samples(families), sequence)


def test_an_openmetrics_scrape_says_the_same(server, sequence):
    _, metrics = server
    r = requests.get(metrics, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    families = list(openmetrics_families(r.text))
    types = {f.name: f.type for f in families}
    assert types["nicplane_http_requests"] == "counter"
    assert types["nicplane_http_request_duration_seconds"] == "histogram"
    check(samples(families), sequence)
