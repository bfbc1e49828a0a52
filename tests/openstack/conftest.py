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
    env = dict(os.environ, NICPLANE_ADMIN_PASSWORD=ADMIN_PASSWORD, NICPLANE_LOG="warn")
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
