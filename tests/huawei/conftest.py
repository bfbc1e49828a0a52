"""Fixtures of the Huawei suite: one real nicplane server per session (fresh
SQLite data dir, --demo, --huawei-listen), AK/SK credentials created through
nicplane's native API, and the official SDK clients pointed at the Huawei
listener with `with_endpoints`."""

import os
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkecs.v2 import EcsClient
from huaweicloudsdkvpc.v2 import VpcClient as VpcClientV2
from huaweicloudsdkvpc.v3 import (
    CreateSubNetworkInterfaceOption,
    CreateSubNetworkInterfaceRequest,
    CreateSubNetworkInterfaceRequestBody,
    VpcClient,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("NICPLANE_BIN", os.path.join(ROOT, "target", "debug", "nicplane"))
ADMIN_PASSWORD = "admin-test-password"
DEMO_PASSWORD = "demo-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Native:
    """A small client of nicplane's native API (the test's own setup path)."""

    def __init__(self, url, user, password):
        self.url = url
        r = requests.post(f"{url}/v1/auth/login", json={"username": user, "password": password}, timeout=10)
        r.raise_for_status()
        login = r.json()
        self.token = login["token"]
        self.user = login["user"]
        self.memberships = login["memberships"]

    def req(self, method, path, **kw):
        return requests.request(
            method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=30, **kw
        )

    def ok(self, method, path, **kw):
        r = self.req(method, path, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


class Cloud:
    """Everything a test needs: URLs, the demo project, SDK clients."""

    def __init__(self, url, hw_url):
        self.url, self.hw_url = url, hw_url
        self.alice = Native(url, "alice", DEMO_PASSWORD)
        self.admin = Native(url, "admin", ADMIN_PASSWORD)
        self.project = next(m["project_id"] for m in self.alice.memberships if m["project_name"] == "demo")
        cred = self.alice.ok("POST", f"/v1/users/{self.alice.user['id']}/credentials", json={"description": "suite"})
        self.ak, self.sk = cred["access"], cred["secret"]
        self.vpc = self.vpc_client()
        self.vpc2 = self.vpc_client(VpcClientV2)
        self.ecs = self.vpc_client(EcsClient)
        vms = self.alice.ok("GET", f"/v1/projects/{self.project}/vms")["items"]
        self.vms = {v["name"]: v for v in vms}
        nets = self.alice.ok("GET", f"/v1/projects/{self.project}/networks")["items"]
        self.networks = {n["name"]: n for n in nets}
        self.default_net = self.networks["Default Network"]
        groups = self.alice.ok("GET", f"/v1/projects/{self.project}/security-groups")
        groups = groups["items"] if isinstance(groups, dict) else groups
        self.default_sg = next(g["id"] for g in groups if g["is_default"])

    def vpc_client(self, cls=VpcClient, ak=None, sk=None, project=None):
        creds = BasicCredentials(ak or self.ak, sk or self.sk, project or self.project)
        return cls.new_builder().with_credentials(creds).with_endpoints([self.hw_url]).build()

    def new_port(self, name="parent"):
        """An unattached elastic interface on the Default Network (v1 ports API)."""
        from huaweicloudsdkvpc.v2 import CreatePortOption, CreatePortRequest, CreatePortRequestBody

        r = self.vpc2.create_port(
            CreatePortRequest(
                body=CreatePortRequestBody(
                    port=CreatePortOption(name=f"{name}-{uuid.uuid4().hex[:6]}", network_id=self.default_net["id"])
                )
            )
        )
        return r.port.id

    def create_sni(self, parent, client=None, **kw):
        opt = CreateSubNetworkInterfaceOption(virsubnet_id=kw.pop("virsubnet_id", self.default_net["id"]), parent_id=parent, **kw)
        body = CreateSubNetworkInterfaceRequestBody(sub_network_interface=opt)
        return (client or self.vpc).create_sub_network_interface(CreateSubNetworkInterfaceRequest(body=body))


def expect_error(fn, status, code):
    """Run an SDK call that must fail; check the status and error code the SDK
    exception carries; return the exception."""
    with pytest.raises(exceptions.ClientRequestException) as info:
        fn()
    e = info.value
    assert e.status_code == status, f"status {e.status_code} {e.error_code} {e.error_msg}"
    assert e.error_code == code, f"code {e.error_code}: {e.error_msg}"
    assert e.request_id, "the SDK read X-Request-Id"
    return e


@pytest.fixture(scope="session")
def cloud():
    port, hw_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="nicplane-huawei-")
    env = dict(os.environ, NICPLANE_ADMIN_PASSWORD=ADMIN_PASSWORD, NICPLANE_LOG="warn")
    log = open(os.path.join(data, "server.log"), "w")
    proc = subprocess.Popen(
        [BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--huawei-listen", f"127.0.0.1:{hw_port}",
         "--data-dir", data, "--demo"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url, hw_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hw_port}"
    deadline = time.time() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"nicplane did not start; see {data}/server.log")
        time.sleep(0.2)
    try:
        yield Cloud(url, hw_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
