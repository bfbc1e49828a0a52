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


# ----- the matrices (issue 10): projects of their own, a user per role --------
#
# The matrix files (test_matrix_*.py) work in fresh projects, never in the
# demo project the other tests share: `Tenant` creates a project through the
# native API as the cloud admin, a user with an AK/SK and SDK clients for
# each role, and a fixed set of objects made through the Huawei API.

import concurrent.futures  # noqa: E402 (the matrices' section of this file)

MATRIX_PASSWORD = "matrix-password"
# Tenant.snapshot sends its reads together.
SNAPSHOT_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=10)
ROLES = ("admin", "power_user", "reader")


def signed_request(hw_url, ak, sk, project, method, path, body=None, query=None):
    """A request signed by the SDK's own Signer and sent with requests, for
    what the SDK cannot send (a detach with a body, a raw query)."""
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer
    import json as _json

    data = b"" if body is None else _json.dumps(body).encode()
    host = hw_url.split("://")[1]
    headers = {"Content-Type": "application/json", "X-Project-Id": project}
    req = SdkRequest(method=method, schema="http", host=host, resource_path=path, query_params=query or [],
                     header_params=headers, body=data)
    Signer(BasicCredentials(ak, sk, project)).sign(req)
    return requests.request(method, f"{hw_url}{req.uri}", headers=req.header_params, data=data, timeout=30)


def outcome(fn):
    """`(status, error_code, error_msg)` of a call made through the SDK or as
    a raw request (VPC and ECS error shapes); code and message are None on
    success. A 5xx from the SDK raises, failing the test."""
    try:
        r = fn()
    except exceptions.ClientRequestException as e:
        return e.status_code, e.error_code, e.error_msg
    if isinstance(r, requests.Response) and r.status_code >= 400:
        b = r.json()
        if "error" in b:
            return r.status_code, b["error"]["code"], b["error"]["message"]
        return r.status_code, b["error_code"], b["error_msg"]
    return r.status_code, None, None


class Member:
    """A user with one role in a project: native session, AK/SK, SDK clients."""

    def __init__(self, cloud, project, role):
        self.role, self.project, self.cloud = role, project, cloud
        self.name = f"{role.replace('_', '')}-{uuid.uuid4().hex[:10]}"
        user = cloud.admin.ok("POST", "/v1/users", json={"name": self.name, "password": MATRIX_PASSWORD})
        self.user_id = user["id"]
        cloud.admin.ok("PUT", f"/v1/projects/{project}/members/{self.user_id}", json={"role": role})
        self.native = Native(cloud.url, self.name, MATRIX_PASSWORD)
        cred = self.native.ok("POST", f"/v1/users/{self.user_id}/credentials", json={"description": "matrix"})
        self.ak, self.sk = cred["access"], cred["secret"]
        self.vpc = cloud.vpc_client(ak=self.ak, sk=self.sk, project=project)
        self.vpc2 = cloud.vpc_client(VpcClientV2, ak=self.ak, sk=self.sk, project=project)
        self.ecs = cloud.vpc_client(EcsClient, ak=self.ak, sk=self.sk, project=project)

    def signed(self, method, path, body=None, query=None):
        return signed_request(self.cloud.hw_url, self.ak, self.sk, self.project, method, path, body, query)

    def iam(self, method, path, body=None):
        """An IAM call with this user's token (creating and deleting keys needs one)."""
        return requests.request(method, f"{self.cloud.hw_url}{path}", json=body, timeout=30,
                                headers={"X-Auth-Token": self.native.token})


class Tenant:
    """A fresh project with a member per role (or the given roles; "admin"
    is needed) and a fixed set of objects:
    `net` (its Default Network, with `subnet4`), `sg` (default) and `sg2`,
    `vm` (a running Linux VM) with an added NIC `nic` and its ECS `job`,
    unattached elastic interfaces `port` and `port2`, a supplementary
    interface `sni` (VLAN 10 on `port`, tagged `tag_key`) and an unbound one
    `loose`."""

    def __init__(self, cloud, label, roles=ROLES):
        self.cloud = cloud
        self.name = f"{label}-{uuid.uuid4().hex[:8]}"
        self.id = cloud.admin.ok("POST", "/v1/projects", json={"name": self.name})["id"]
        self.members = {role: Member(cloud, self.id, role) for role in roles}
        self.admin = self.members["admin"]
        nets = self.admin.native.ok("GET", f"/v1/projects/{self.id}/networks")["items"]
        self.net = next(n for n in nets if n["is_default"])
        self.subnet4 = next(s for s in self.net["subnets"] if s["ip_version"] == 4)
        self.dc = self.net["data_center_id"]
        groups = self.admin.native.ok("GET", f"/v1/projects/{self.id}/security-groups")
        self.sg = next(g["id"] for g in groups if g["is_default"])
        self.sg2 = self.admin.native.ok("POST", f"/v1/projects/{self.id}/security-groups", json={"name": "second"})["id"]
        self.vm = self.new_vm()
        self.port, self.port2 = self.new_port(), self.new_port()
        self.tag_key = f"only-{self.name}"
        self.sni = self.new_sni(self.port, vlan_id="10")
        from huaweicloudsdkvpc.v3 import CreateSubNetworkInterfaceTagRequest, CreateSubNetworkInterfaceTagRequestBody, ResourceTag

        self.admin.vpc.create_sub_network_interface_tag(CreateSubNetworkInterfaceTagRequest(
            sub_network_interface_id=self.sni.id,
            body=CreateSubNetworkInterfaceTagRequestBody(tag=ResourceTag(key=self.tag_key, value="v"))))
        self.loose = self.new_sni(self.port2)
        from huaweicloudsdkvpc.v3 import DetachSubNetworkInterfaceRequest

        self.admin.vpc.detach_sub_network_interface(DetachSubNetworkInterfaceRequest(sub_network_interface_id=self.loose.id))
        self.job, self.nic = self.add_nic(self.vm)

    @property
    def vpc_id(self):
        return self.sni.vpc_id

    def new_vm(self, name=None):
        return self.admin.native.ok("POST", f"/v1/projects/{self.id}/vms", json={
            "name": name or f"vm-{uuid.uuid4().hex[:6]}", "data_center_id": self.dc})["id"]

    def new_port(self, name=None):
        from huaweicloudsdkvpc.v2 import CreatePortOption, CreatePortRequest, CreatePortRequestBody

        body = CreatePortRequestBody(port=CreatePortOption(name=name or f"p-{uuid.uuid4().hex[:6]}", network_id=self.net["id"]))
        return self.admin.vpc2.create_port(CreatePortRequest(body=body)).port.id

    def new_sni(self, parent, **kw):
        opt = CreateSubNetworkInterfaceOption(virsubnet_id=kw.pop("virsubnet_id", self.net["id"]), parent_id=parent, **kw)
        body = CreateSubNetworkInterfaceRequestBody(sub_network_interface=opt)
        return self.admin.vpc.create_sub_network_interface(CreateSubNetworkInterfaceRequest(body=body)).sub_network_interface

    def add_nic(self, vm):
        """Add a NIC on the Default Network through ECS; (job id, NIC id)."""
        from huaweicloudsdkecs.v2 import (BatchAddServerNicOption, BatchAddServerNicsRequest,
                                          BatchAddServerNicsRequestBody, ShowJobRequest)

        r = self.admin.ecs.batch_add_server_nics(BatchAddServerNicsRequest(
            server_id=vm, body=BatchAddServerNicsRequestBody(nics=[BatchAddServerNicOption(subnet_id=self.net["id"])])))
        j = self.admin.ecs.show_job(ShowJobRequest(job_id=r.job_id))
        assert j.status == "SUCCESS", j
        return r.job_id, j.entities.sub_jobs[0].entities.nic_id

    def snapshot(self):
        """The project's whole state as the cloud admin sees it through the
        native API: every list, each object in full (timestamps, free
        address counts, tags), plus the members' access keys."""
        a, p = self.cloud.admin, f"/v1/projects/{self.id}"
        paths = {name: (f"{p}/{name}", {"limit": 1000}) for name in ("networks", "vms", "interfaces", "public-ips")}
        paths.update({name: (f"{p}/{name}", None) for name in ("security-groups", "quotas", "members")})
        paths.update({f"credentials of {m.role}": (f"/v1/users/{m.user_id}/credentials", None) for m in self.members.values()})
        # The reads are independent: sent together, they cost one round trip.
        bodies = SNAPSHOT_POOL.map(lambda item: (item[0], a.ok("GET", item[1][0], params=item[1][1])), paths.items())
        state = {}
        for name, body in bodies:
            if isinstance(body, dict) and "items" in body:
                assert not body.get("next_marker"), f"{name}: more than one page"
                body = body["items"]
            state[name] = body
        return state


@pytest.fixture(scope="session")
def tenants(cloud):
    """Two fresh projects: A with a member per role, B with its administrator."""
    return Tenant(cloud, "mxa"), Tenant(cloud, "mxb", roles=("admin",))


# Every write and read route of the Huawei listener as one call through the
# official SDK, made as a `Member` (the matrices' tables are built from
# these). `dry_run=None` leaves the field out of the body. The SDK's detach
# sends no body, so a detach with `dry_run` goes as a raw signed request.

def _v3():
    import huaweicloudsdkvpc.v3 as v3
    return v3


def op_create(m, parent, net, dry_run=None, **kw):
    v3 = _v3()
    opt = v3.CreateSubNetworkInterfaceOption(virsubnet_id=net, parent_id=parent, **kw)
    body = v3.CreateSubNetworkInterfaceRequestBody(dry_run=dry_run, sub_network_interface=opt)
    return m.vpc.create_sub_network_interface(v3.CreateSubNetworkInterfaceRequest(body=body))


def op_batch(m, parent, net, count=2, dry_run=None, **kw):
    v3 = _v3()
    opt = v3.BatchCreateSubNetworkInterfaceOption(virsubnet_id=net, parent_id=parent, **kw)
    body = v3.BatchCreateSubNetworkInterfaceRequestBody(dry_run=dry_run, sub_network_interface=opt, count=count)
    return m.vpc.batch_create_sub_network_interface(v3.BatchCreateSubNetworkInterfaceRequest(body=body))


def op_update(m, sni, dry_run=None, **kw):
    v3 = _v3()
    body = v3.UpdateSubNetworkInterfaceRequestBody(dry_run=dry_run, sub_network_interface=v3.UpdateSubNetworkInterfaceOption(**kw))
    return m.vpc.update_sub_network_interface(v3.UpdateSubNetworkInterfaceRequest(sub_network_interface_id=sni, body=body))


def op_delete(m, sni):
    v3 = _v3()
    return m.vpc.delete_sub_network_interface(v3.DeleteSubNetworkInterfaceRequest(sub_network_interface_id=sni))


def op_show(m, sni):
    v3 = _v3()
    return m.vpc.show_sub_network_interface(v3.ShowSubNetworkInterfaceRequest(sub_network_interface_id=sni))


def op_attach(m, sni, parent, dry_run=None, **kw):
    v3 = _v3()
    body = v3.AttachSubNetworkInterfaceRequestBody(
        dry_run=dry_run, sub_network_interface=v3.AttachSubNetworkInterfaceOption(parent_id=parent, **kw))
    return m.vpc.attach_sub_network_interface(v3.AttachSubNetworkInterfaceRequest(sub_network_interface_id=sni, body=body))


def op_detach(m, sni, dry_run=None):
    if dry_run is None:
        v3 = _v3()
        return m.vpc.detach_sub_network_interface(v3.DetachSubNetworkInterfaceRequest(sub_network_interface_id=sni))
    return m.signed("POST", f"/v3/{m.project}/vpc/sub-network-interfaces/{sni}/detach", {"dry_run": dry_run})


def op_migrate(m, parent, ids, dry_run=None):
    v3 = _v3()
    info = v3.MigrateSubNetworkInterfaceOption(parent_id=parent, sub_network_interfaces=[{"id": i} for i in ids])
    body = v3.MigrateSubNetworkInterfaceRequestBody(dry_run=dry_run, migration_info=info)
    return m.vpc.migrate_sub_network_interface(v3.MigrateSubNetworkInterfaceRequest(body=body))


def op_list(m, **kw):
    v3 = _v3()
    return m.vpc.list_sub_network_interfaces(v3.ListSubNetworkInterfacesRequest(**kw))


def op_count(m):
    v3 = _v3()
    return m.vpc.show_sub_network_interfaces_quantity(v3.ShowSubNetworkInterfacesQuantityRequest())


def op_tag_create(m, sni, key="k", value="v"):
    v3 = _v3()
    body = v3.CreateSubNetworkInterfaceTagRequestBody(tag=v3.ResourceTag(key=key, value=value))
    return m.vpc.create_sub_network_interface_tag(v3.CreateSubNetworkInterfaceTagRequest(sub_network_interface_id=sni, body=body))


def op_tags_create(m, sni, pairs=(("k", "v"),)):
    v3 = _v3()
    body = v3.BatchCreateSubNetworkInterfaceTagsRequestBody(tags=[v3.ResourceTag(key=k, value=v) for k, v in pairs])
    return m.vpc.batch_create_sub_network_interface_tags(
        v3.BatchCreateSubNetworkInterfaceTagsRequest(sub_network_interface_id=sni, body=body))


def op_tags_delete(m, sni, keys=("k",)):
    v3 = _v3()
    body = v3.BatchDeleteSubNetworkInterfaceTagsRequestBody(tags=[v3.DeleteResourceTagRequestBody(key=k) for k in keys])
    return m.vpc.batch_delete_sub_network_interface_tags(
        v3.BatchDeleteSubNetworkInterfaceTagsRequest(sub_network_interface_id=sni, body=body))


def op_tag_delete(m, sni, key="k"):
    v3 = _v3()
    return m.vpc.delete_sub_network_interface_tag(v3.DeleteSubNetworkInterfaceTagRequest(sub_network_interface_id=sni, tag_key=key))


def op_tags_show(m, sni):
    v3 = _v3()
    return m.vpc.show_sub_network_interface_tags(v3.ShowSubNetworkInterfaceTagsRequest(sub_network_interface_id=sni))


def op_tags_summary(m):
    v3 = _v3()
    return m.vpc.list_sub_network_interface_tags(v3.ListSubNetworkInterfaceTagsRequest())


def op_filter_by_tags(m, tags, limit=None, offset=None):
    v3 = _v3()
    body = v3.ListSubNetworkInterfacesByTagsRequestBody(tags=[v3.ListTag(key=k, values=v) for k, v in tags])
    return m.vpc.list_sub_network_interfaces_by_tags(v3.ListSubNetworkInterfacesByTagsRequest(limit=limit, offset=offset, body=body))


def op_count_by_tags(m, tags):
    v3 = _v3()
    body = v3.CountSubNetworkInterfacesByTagsRequestBody(tags=[v3.ListTag(key=k, values=v) for k, v in tags])
    return m.vpc.count_sub_network_interfaces_by_tags(v3.CountSubNetworkInterfacesByTagsRequest(body=body))


def op_ports_v3(m, **kw):
    v3 = _v3()
    return m.vpc.list_ports(v3.ListPortsRequest(**kw))


def op_port_v3(m, port):
    v3 = _v3()
    return m.vpc.show_port(v3.ShowPortRequest(port_id=port))


def op_ports_v1(m, **kw):
    from huaweicloudsdkvpc.v2 import ListPortsRequest
    return m.vpc2.list_ports(ListPortsRequest(**kw))


def op_port_v1(m, port):
    from huaweicloudsdkvpc.v2 import ShowPortRequest
    return m.vpc2.show_port(ShowPortRequest(port_id=port))


def op_port_create_v1(m, net, **kw):
    from huaweicloudsdkvpc.v2 import CreatePortOption, CreatePortRequest, CreatePortRequestBody
    return m.vpc2.create_port(CreatePortRequest(body=CreatePortRequestBody(port=CreatePortOption(network_id=net, **kw))))


def op_port_update_v1(m, port, **kw):
    from huaweicloudsdkvpc.v2 import UpdatePortOption, UpdatePortRequest, UpdatePortRequestBody
    return m.vpc2.update_port(UpdatePortRequest(port_id=port, body=UpdatePortRequestBody(port=UpdatePortOption(**kw))))


def op_port_delete_v1(m, port):
    from huaweicloudsdkvpc.v2 import DeletePortRequest
    return m.vpc2.delete_port(DeletePortRequest(port_id=port))


def op_nics_add(m, vm, **nic):
    from huaweicloudsdkecs.v2 import BatchAddServerNicOption, BatchAddServerNicsRequest, BatchAddServerNicsRequestBody
    return m.ecs.batch_add_server_nics(BatchAddServerNicsRequest(
        server_id=vm, body=BatchAddServerNicsRequestBody(nics=[BatchAddServerNicOption(**nic)])))


def op_nics_delete(m, vm, nic):
    from huaweicloudsdkecs.v2 import BatchDeleteServerNicOption, BatchDeleteServerNicsRequest, BatchDeleteServerNicsRequestBody
    return m.ecs.batch_delete_server_nics(BatchDeleteServerNicsRequest(
        server_id=vm, body=BatchDeleteServerNicsRequestBody(nics=[BatchDeleteServerNicOption(id=nic)])))


def op_interfaces(m, vm):
    from huaweicloudsdkecs.v2 import ListServerInterfacesRequest
    return m.ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=vm))


def op_job(m, job):
    from huaweicloudsdkecs.v2 import ShowJobRequest
    return m.ecs.show_job(ShowJobRequest(job_id=job))


def op_cred_create(m, user_id):
    return m.iam("POST", "/v3.0/OS-CREDENTIAL/credentials", {"credential": {"user_id": user_id, "description": "op"}})


def op_cred_delete(m, access):
    return m.iam("DELETE", f"/v3.0/OS-CREDENTIAL/credentials/{access}")


def op_cred_list(m, user_id=None):
    return m.signed("GET", "/v3.0/OS-CREDENTIAL/credentials", query=[("user_id", user_id)] if user_id else None)


def op_projects(m, name=None):
    return m.signed("GET", "/v3/projects", query=[("name", name)] if name else None)
