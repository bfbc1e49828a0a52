"""Harness of the OpenStack suite: starts the real nicplane binary on a free
loopback port with a fresh SQLite directory and the demo data, writes a
clouds.yaml into a temp dir (OS_CLIENT_CONFIG_FILE), and offers helpers that
run the real `openstack` and `nova` commands and plain HTTP calls."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

ADMIN_PASSWORD = "admin-secret-pw"
# The key that seals stored access-key secrets, the same for every server
# this suite starts: on PostgreSQL they share one database, and a server
# with another key refuses to start on it.
SECRET_KEY = "5f" * 32
DEMO_PASSWORD = "demo-password"
VENV_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv", "bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    """A running nicplane and ways to talk to it."""

    def __init__(self, base, workdir):
        self.base = base
        self.workdir = workdir
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("OS_"):
                del self.env[k]
        self.env["OS_CLIENT_CONFIG_FILE"] = os.path.join(workdir, "clouds.yaml")
        self.env["PATH"] = VENV_BIN + os.pathsep + self.env.get("PATH", "")
        self._tokens = {}
        self.log = []

    # ----- real clients -------------------------------------------------
    def run(self, argv, cloud="alice", expect_ok=True):
        """Run a CLI; returns (rc, stdout, stderr)."""
        argv = [argv[0], "--os-cloud", cloud] + list(argv[1:]) if argv[0] == "openstack" else list(argv)
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120)
        self.log.append((argv, p.returncode))
        if expect_ok and p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p.returncode, p.stdout, p.stderr

    def osc(self, *args, cloud="alice"):
        """`openstack ... -f json`, parsed."""
        _, out, _ = self.run(["openstack", *args, "-f", "json"], cloud=cloud)
        return json.loads(out) if out.strip() else None

    def osc_ok(self, *args, cloud="alice"):
        """`openstack ...` without output parsing."""
        return self.run(["openstack", *args], cloud=cloud)[1]

    def osc_fails(self, *args, cloud="alice"):
        """Run a command that must fail; returns its stderr."""
        rc, out, err = self.run(["openstack", *args], cloud=cloud, expect_ok=False)
        assert rc != 0, f"openstack {' '.join(args)} should have failed:\n{out}"
        return err

    def nova(self, *args, cloud="alice", expect_ok=True):
        env_cloud = {"alice": ("alice", "demo", DEMO_PASSWORD), "admin": ("admin", "admin", ADMIN_PASSWORD)}[cloud]
        argv = ["nova", "--os-auth-url", self.base + "/identity/v3", "--os-username", env_cloud[0],
                "--os-password", env_cloud[2], "--os-project-name", env_cloud[1],
                "--os-user-domain-name", "Default", "--os-project-domain-name", "Default", *args]
        return self.run(argv, expect_ok=expect_ok)

    # ----- HTTP ------------------------------------------------------------
    def token(self, user="alice", project="demo", password=DEMO_PASSWORD):
        key = (user, project)
        if key not in self._tokens:
            r = requests.post(self.base + "/identity/v3/auth/tokens", json={"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "domain": {"name": "Default"}, "password": password}}},
                "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
            assert r.status_code == 201, r.text
            self._tokens[key] = (r.headers["X-Subject-Token"], r.json()["token"])
        return self._tokens[key]

    def admin_token(self):
        return self.token("admin", "admin", ADMIN_PASSWORD)[0]

    def project_id(self, user="alice", project="demo", password=DEMO_PASSWORD):
        return self.token(user, project, password)[1]["project"]["id"]

    def req(self, method, path, token=None, headers=None, **kw):
        h = {"X-Auth-Token": token or self.token()[0]}
        h.update(headers or {})
        return requests.request(method, self.base + path, headers=h, **kw)

    def native(self, method, path, token=None, **kw):
        """The native API, with the same (Keystone-issued) token."""
        return self.req(method, "/v1" + path, token=token, **kw)


@pytest.fixture(scope="session")
def cloud():
    binary = os.environ.get("NICPLANE_BIN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "target", "debug", "nicplane")
    workdir = tempfile.mkdtemp(prefix="nicplane-os-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, NICPLANE_ADMIN_PASSWORD=ADMIN_PASSWORD, NICPLANE_LOG="warn",
               NICPLANE_SECRET_KEY=SECRET_KEY)
    log = open(os.path.join(workdir, "server.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                             os.path.join(workdir, "data"), "--demo"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError("nicplane did not start:\n" + open(os.path.join(workdir, "server.log")).read())
            time.sleep(0.2)
        with open(os.path.join(workdir, "clouds.yaml"), "w") as f:
            f.write(clouds_yaml(base))
        # openstacksdk inside this process reads the same file.
        os.environ["OS_CLIENT_CONFIG_FILE"] = os.path.join(workdir, "clouds.yaml")
        yield Cloud(base, workdir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if os.environ.get("KEEP_WORKDIR"):
            print("workdir kept:", workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def clouds_yaml(base):
    def entry(name, user, project, password):
        return f"""  {name}:
    auth:
      auth_url: {base}/identity/v3
      username: {user}
      password: {password}
      project_name: {project}
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
"""
    return "clouds:\n" + "".join([
        entry("alice", "alice", "demo", DEMO_PASSWORD),
        entry("bob", "bob", "demo", DEMO_PASSWORD),
        entry("carol", "carol", "demo", DEMO_PASSWORD),
        entry("admin", "admin", "admin", ADMIN_PASSWORD),
    ])


# ----- issue 10's matrices: a second project, role tokens, project state -----

NEUTRON = "/network/v2.0"
NOVA = "/compute/v2.1"
B_PASSWORD = "bea-password-10"
READ_ONLY = ("The Tenant Reader role is read-only; this needs the Tenant Administrator "
             "or Tenant Power User role.")

# What a project sees through this dialect, collection by collection.
STATE_COLLECTIONS = [
    ("networks", "networks"), ("subnets", "subnets"), ("ports", "ports"), ("floatingips", "floatingips"),
    ("security-groups", "security_groups"), ("security-group-rules", "security_group_rules"),
    ("trunks", "trunks"), ("routers", "routers"),
]


def ok(r, status):
    """The JSON body of an answer that must have this status."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def neutron_error(r, status, ty, message):
    """Assert a Neutron error answer exactly."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.json() == {"NeutronError": {"type": ty, "message": message, "detail": ""}}, r.text


def nova_fault(r, status, fault, message):
    """Assert a Nova fault answer exactly."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.json() == {fault: {"code": status, "message": message}}, r.text


def project_state(cloud, token):
    """Everything the token's project shows through Neutron and Nova (every
    Neutron collection and the servers in detail, which carry their
    addresses; interfaces are the ports), each sorted by id, so that two
    calls compare equal exactly when nothing changed."""
    state = {}
    for path, key in STATE_COLLECTIONS:
        items = ok(cloud.req("GET", f"{NEUTRON}/{path}", token=token), 200)[key]
        state[key] = sorted(items, key=lambda i: i["id"])
    servers = ok(cloud.req("GET", f"{NOVA}/servers/detail", token=token), 200)["servers"]
    state["servers"] = sorted(servers, key=lambda s: s["id"])
    return state


class ProjectB:
    """A second project with a Tenant Administrator of its own and one object
    of every kind the OpenStack dialect serves."""

    def __init__(self, cloud):
        admin = cloud.admin_token()
        suffix = os.urandom(3).hex()
        self.name, self.user = f"mx-b-{suffix}", f"mx-bea-{suffix}"
        self.project_id = ok(cloud.native("POST", "/projects", token=admin, json={"name": self.name}), 201)["id"]
        self.user_id = ok(cloud.native("POST", "/users", token=admin,
                                       json={"name": self.user, "password": B_PASSWORD}), 201)["id"]
        ok(cloud.native("PUT", f"/projects/{self.project_id}/members/{self.user_id}", token=admin,
                        json={"role": "admin"}), 200)
        self.token = cloud.token(self.user, self.name, B_PASSWORD)[0]

        def post(path, key, body, status=201):
            return ok(cloud.req("POST", path, token=self.token, json={key: body}), status)[key]

        net = post(f"{NEUTRON}/networks", "network", {"name": "b-net"})
        self.net = net["id"]
        self.subnet = post(f"{NEUTRON}/subnets", "subnet", {"network_id": self.net, "cidr": "10.90.0.0/24",
                                                            "ip_version": 4, "name": "b-net-v4"})["id"]
        self.sg = post(f"{NEUTRON}/security-groups", "security_group", {"name": "b-sg"})["id"]
        self.rule = post(f"{NEUTRON}/security-group-rules", "security_group_rule", {
            "security_group_id": self.sg, "direction": "ingress", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22})["id"]
        self.port = post(f"{NEUTRON}/ports", "port", {"network_id": self.net, "name": "b-port",
                                                      "security_groups": [self.sg], "tags": ["b-tag"]})["id"]
        self.parent = post(f"{NEUTRON}/ports", "port", {"network_id": self.net, "name": "b-parent"})["id"]
        self.subport = post(f"{NEUTRON}/ports", "port", {"network_id": self.net, "name": "b-sub"})["id"]
        self.trunk = post(f"{NEUTRON}/trunks", "trunk", {"port_id": self.parent, "name": "b-trunk", "sub_ports": [
            {"port_id": self.subport, "segmentation_type": "vlan", "segmentation_id": 10}]})["id"]
        external = ok(cloud.req("GET", f"{NEUTRON}/networks?router:external=true", token=self.token), 200)
        # The external network of b-net's data center (other tests add
        # pools in other data centers, and a floating IP must be in its port's).
        self.external = next(n["id"] for n in external["networks"]
                             if n["availability_zones"] == net["availability_zones"])
        self.fip = post(f"{NEUTRON}/floatingips", "floatingip",
                        {"floating_network_id": self.external, "port_id": self.port})["id"]
        self.server = post(f"{NOVA}/servers", "server", {"name": "b-srv", "imageRef": "cirros", "flavorRef": "1",
                                                         "networks": [{"uuid": self.net}]}, 202)["id"]
        self.router = post(f"{NEUTRON}/routers", "router", {"name": "b-router"})["id"]
        ok(cloud.req("PUT", f"{NEUTRON}/routers/{self.router}/add_router_interface", token=self.token,
                     json={"subnet_id": self.subnet}), 200)
        atts = ok(cloud.req("GET", f"{NOVA}/servers/{self.server}/os-interface", token=self.token), 200)
        self.server_port = atts["interfaceAttachments"][0]["port_id"]
        self.ids = {"project_id": self.project_id, "net": self.net, "subnet": self.subnet, "sg": self.sg,
                    "rule": self.rule, "port": self.port, "parent": self.parent, "subport": self.subport,
                    "trunk": self.trunk, "fip": self.fip, "server": self.server, "server_port": self.server_port,
                    "router": self.router}


@pytest.fixture(scope="session")
def project_b(cloud):
    """Project B (another tenant), built once per session; tests only read it
    or try to change it and must fail."""
    return ProjectB(cloud)
