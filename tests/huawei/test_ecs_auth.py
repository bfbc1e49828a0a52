"""ECS NICs and jobs, signatures, IAM, the native API's view of what the
Huawei API created, and concurrency."""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import uuid

import requests
from conftest import expect_error
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkecs.v2 import (
    BatchAddServerNicOption,
    BatchAddServerNicsRequest,
    BatchAddServerNicsRequestBody,
    BatchDeleteServerNicOption,
    BatchDeleteServerNicsRequest,
    BatchDeleteServerNicsRequestBody,
    ListServerInterfacesRequest,
    ShowJobRequest,
)
from huaweicloudsdkvpc.v3 import ListSubNetworkInterfacesRequest, ShowSubNetworkInterfacesQuantityRequest


def job(cloud, job_id):
    return cloud.ecs.show_job(ShowJobRequest(job_id=job_id))


def add_nic(cloud, vm, **kw):
    opt = BatchAddServerNicOption(subnet_id=kw.pop("subnet_id", cloud.default_net["id"]), **kw)
    r = cloud.ecs.batch_add_server_nics(
        BatchAddServerNicsRequest(server_id=vm, body=BatchAddServerNicsRequestBody(nics=[opt]))
    )
    return job(cloud, r.job_id)


def delete_nic(cloud, vm, nic):
    r = cloud.ecs.batch_delete_server_nics(
        BatchDeleteServerNicsRequest(server_id=vm, body=BatchDeleteServerNicsRequestBody(nics=[BatchDeleteServerNicOption(id=nic)]))
    )
    return job(cloud, r.job_id)


def interfaces(cloud, vm):
    return cloud.ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=vm))


def test_ecs_nics_run_through_the_core_and_jobs_report_real_outcomes(cloud):
    vm = cloud.vms["db-1"]["id"]
    start = interfaces(cloud, vm)
    assert start.attachable_quantity.free_nic == 5 - len(start.interface_attachments)
    added = []
    # Bounded by the interface limit: a server that never fills must fail, not hang.
    for _ in range(5):
        if interfaces(cloud, vm).attachable_quantity.free_nic == 0:
            break
        j = add_nic(cloud, vm)
        assert j.status == "SUCCESS", j
        assert j.fail_reason is None and j.entities.server_id == vm
        nic = j.entities.sub_jobs[0].entities.nic_id
        added.append(nic)
    now = interfaces(cloud, vm)
    assert now.attachable_quantity.free_nic == 0
    assert set(added) <= {a.port_id for a in now.interface_attachments}
    # The 6th NIC: the core's interface limit makes the job fail, with the reason.
    j = add_nic(cloud, vm)
    assert j.status == "FAIL" and j.error_code == "InterfaceLimitReached"
    assert "maximum is 5" in j.fail_reason
    assert j.entities.sub_jobs[0].status == "FAIL"
    assert len(interfaces(cloud, vm).interface_attachments) == 5, "nothing was added"
    # Removing one succeeds and frees a slot.
    j = delete_nic(cloud, vm, added[0])
    assert j.status == "SUCCESS" and j.entities.sub_jobs[0].entities.nic_id == added[0]
    assert interfaces(cloud, vm).attachable_quantity.free_nic == 1
    # The primary NIC is refused at once, in the ECS error shape.
    primary = cloud.vms["db-1"]["interfaces"][0]["id"]
    expect_error(lambda: delete_nic(cloud, vm, primary), 403, "Ecs.0103")
    # Unknown server and job: 404 in the ECS shape.
    expect_error(lambda: add_nic(cloud, str(uuid.uuid4())), 404, "Ecs.0114")
    expect_error(lambda: job(cloud, str(uuid.uuid4())), 404, "Ecs.0116")
    expect_error(lambda: add_nic(cloud, vm, subnet_id="nope"), 400, "Ecs.0005")


def test_a_running_windows_vm_makes_the_job_fail(cloud):
    vm = cloud.vms["win-1"]["id"]
    j = add_nic(cloud, vm)
    assert j.status == "FAIL" and j.error_code == "VmMustBeStopped"
    assert "stop the VM" in j.fail_reason
    cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/vms/{vm}/stop")
    j = add_nic(cloud, vm)
    assert j.status == "SUCCESS"
    nic = j.entities.sub_jobs[0].entities.nic_id
    cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/vms/{vm}/start")
    j = delete_nic(cloud, vm, nic)
    assert j.status == "FAIL" and j.error_code == "VmMustBeStopped"
    assert nic in {a.port_id for a in interfaces(cloud, vm).interface_attachments}


def test_wrong_secret_unknown_key_and_foreign_project_are_refused(cloud):
    bad = cloud.vpc_client(sk="x" * 40)
    e = expect_error(lambda: bad.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")
    assert "signature" in e.error_msg
    unknown = cloud.vpc_client(ak="AKUNKNOWNUNKNOWN0000")
    expect_error(lambda: unknown.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")
    other = cloud.admin.ok("POST", "/v1/projects", json={"name": f"other-{uuid.uuid4().hex[:6]}"})
    foreign = cloud.vpc_client(project=other["id"])
    expect_error(lambda: foreign.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 400, "VPC.0007")
    # No project configured: the SDK sends the literal {project_id}.
    noproj = cloud.vpc_client().__class__.new_builder().with_credentials(BasicCredentials(cloud.ak, cloud.sk)).with_endpoints([cloud.hw_url]).build()
    expect_error(lambda: noproj.show_sub_network_interfaces_quantity(ShowSubNetworkInterfacesQuantityRequest()), 400, "VPC.0001")
    # A revoked credential stops working at once.
    c = cloud.alice.ok("POST", f"/v1/users/{cloud.alice.user['id']}/credentials", json={})
    client = cloud.vpc_client(ak=c["access"], sk=c["secret"])
    client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest())
    r = cloud.alice.req("DELETE", f"/v1/users/{cloud.alice.user['id']}/credentials/{c['access']}")
    assert r.status_code == 204
    expect_error(lambda: client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")


def signed(cloud, method, path, body=b"", date=None, query=None):
    """A request signed by the SDK's own Signer, sent with requests."""
    host = cloud.hw_url.split("://")[1]
    headers = {"Content-Type": "application/json", "X-Project-Id": cloud.project}
    if date:
        headers["X-Sdk-Date"] = date
    req = SdkRequest(method=method, schema="http", host=host, resource_path=path, query_params=query or [],
                     header_params=headers, body=body)
    Signer(BasicCredentials(cloud.ak, cloud.sk, cloud.project)).sign(req)
    return requests.request(method, f"{cloud.hw_url}{req.uri}", headers=req.header_params, data=body, timeout=10)


def test_request_id_header_equals_body_and_old_signatures_expire(cloud):
    r = signed(cloud, "GET", f"/v3/{cloud.project}/vpc/sub-network-interfaces/count")
    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == r.json()["request_id"]
    r = signed(cloud, "GET", f"/v3/{cloud.project}/vpc/sub-network-interfaces/{uuid.uuid4()}")
    assert r.status_code == 404 and r.headers["X-Request-Id"] == r.json()["request_id"]
    old = (datetime.datetime.utcnow() - datetime.timedelta(minutes=16)).strftime("%Y%m%dT%H%M%SZ")
    r = signed(cloud, "GET", f"/v3/{cloud.project}/vpc/sub-network-interfaces/count", date=old)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301" and "expired" in r.json()["error_msg"]
    # A body changed after signing is refused.
    body = json.dumps({"sub_network_interface": {"virsubnet_id": cloud.default_net["id"], "parent_id": str(uuid.uuid4())}}).encode()
    host = cloud.hw_url.split("://")[1]
    req = SdkRequest(method="POST", schema="http", host=host, resource_path=f"/v3/{cloud.project}/vpc/sub-network-interfaces",
                     query_params=[], header_params={"Content-Type": "application/json"}, body=body)
    Signer(BasicCredentials(cloud.ak, cloud.sk, cloud.project)).sign(req)
    r = requests.post(f"{cloud.hw_url}{req.uri}", headers=req.header_params, data=body.replace(b"parent_id", b"parent_iD"), timeout=10)
    assert r.status_code == 401
    assert r.json()["error_code"] == "APIG.0301"
    assert r.json()["error_msg"] == "Incorrect IAM authentication information: verify aksk signature fail."
    # A signed X-Sdk-Content-Sha256 must be the hash of the body actually sent.
    req = SdkRequest(method="POST", schema="http", host=host, resource_path=f"/v3/{cloud.project}/vpc/sub-network-interfaces",
                     query_params=[], header_params={"Content-Type": "application/json",
                                                     "X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()}, body=body)
    Signer(BasicCredentials(cloud.ak, cloud.sk, cloud.project)).sign(req)
    r = requests.post(f"{cloud.hw_url}{req.uri}", headers=req.header_params, data=body.replace(b"parent_id", b"parent_iD"), timeout=10)
    assert r.status_code == 401
    assert r.json()["error_code"] == "APIG.0301"
    assert r.json()["error_msg"] == (
        "Incorrect IAM authentication information: X-Sdk-Content-Sha256 does not match the SHA-256 of the request body.")
    # UNSIGNED-PAYLOAD (the SDK's value for streamed bodies) is refused for a JSON body.
    req = SdkRequest(method="POST", schema="http", host=host, resource_path=f"/v3/{cloud.project}/vpc/sub-network-interfaces",
                     query_params=[], header_params={"Content-Type": "application/json",
                                                     "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}, body=body)
    Signer(BasicCredentials(cloud.ak, cloud.sk, cloud.project)).sign(req)
    r = requests.post(f"{cloud.hw_url}{req.uri}", headers=req.header_params, data=body, timeout=10)
    assert r.status_code == 401
    assert r.json()["error_msg"] == (
        "Incorrect IAM authentication information: X-Sdk-Content-Sha256 UNSIGNED-PAYLOAD is not accepted"
        " for a request with a body; sign the SHA-256 of the body.")
    r = requests.get(f"{cloud.hw_url}/v3/{cloud.project}/vpc/sub-network-interfaces", timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301"
    r = requests.get(f"{cloud.hw_url}/nope", timeout=10)
    assert r.status_code == 404 and r.headers["X-Request-Id"] == r.json()["request_id"]


def test_iam_credentials_with_a_token_and_region_discovery_through_env(cloud):
    r = requests.post(
        f"{cloud.hw_url}/v3.0/OS-CREDENTIAL/credentials",
        headers={"X-Auth-Token": cloud.alice.token, "Content-Type": "application/json"},
        json={"credential": {"user_id": cloud.alice.user["id"], "description": "via IAM"}},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    c = r.json()["credential"]
    assert set(c) >= {"access", "secret", "status", "user_id", "create_time", "description"}
    assert c["status"] == "active" and c["user_id"] == cloud.alice.user["id"] and c["description"] == "via IAM"
    r = requests.post(
        f"{cloud.hw_url}/v3.0/OS-CREDENTIAL/credentials",
        headers={"X-Auth-Token": "not-a-token"},
        json={"credential": {"user_id": cloud.alice.user["id"]}},
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301"
    # Alice now holds two keys (the suite's and this one): a third is refused as IAM does.
    r = requests.post(
        f"{cloud.hw_url}/v3.0/OS-CREDENTIAL/credentials",
        headers={"X-Auth-Token": cloud.alice.token, "Content-Type": "application/json"},
        json={"credential": {"user_id": cloud.alice.user["id"]}},
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["error_code"] == "akSkNumExceed", r.text
    # A signature cannot mint keys, even under the limit (nor delete them).
    body = json.dumps({"credential": {"user_id": cloud.alice.user["id"]}}).encode()
    r = signed(cloud, "POST", "/v3.0/OS-CREDENTIAL/credentials", body=body)
    assert r.status_code == 403, r.text
    assert r.json()["error_msg"] == (
        "Access keys can only be created or deleted with a token from a password login, not with an AK/SK signature.")
    # Unmodified region-based code: only environment variables point it at nicplane.
    script = (
        "from huaweicloudsdkvpc.v3 import VpcClient, ShowSubNetworkInterfacesQuantityRequest\n"
        "from huaweicloudsdkvpc.v3.region.vpc_region import VpcRegion\n"
        "from huaweicloudsdkcore.auth.credentials import BasicCredentials\n"
        "import os\n"
        "c = VpcClient.new_builder().with_credentials(BasicCredentials(os.environ['AK'], os.environ['SK']))"
        ".with_region(VpcRegion.value_of('cn-north-4')).build()\n"
        "print(c.show_sub_network_interfaces_quantity(ShowSubNetworkInterfacesQuantityRequest()).sub_network_interfaces)\n"
    )
    env = dict(os.environ, AK=c["access"], SK=c["secret"], HUAWEICLOUD_SDK_REGION_VPC_CN_NORTH_4=cloud.hw_url,
               HUAWEICLOUD_SDK_IAM_ENDPOINT=cloud.hw_url)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = cloud.vpc.show_sub_network_interfaces_quantity(ShowSubNetworkInterfacesQuantityRequest()).sub_network_interfaces
    assert int(out.stdout.strip()) == expected
    # Deleting with a token frees the slot.
    r = requests.delete(f"{cloud.hw_url}/v3.0/OS-CREDENTIAL/credentials/{c['access']}",
                        headers={"X-Auth-Token": cloud.alice.token}, timeout=10)
    assert r.status_code == 204, r.text


def test_cross_dialect_same_addresses_never_handed_out_again(cloud):
    parent = cloud.new_port()
    s = cloud.create_sni(parent, ipv6_enable=True).sub_network_interface
    n = cloud.alice.ok("GET", f"/v1/projects/{cloud.project}/supplementary-interfaces/{s.id}")
    assert {f["ip_address"] for f in n["fixed_ips"]} == {s.private_ip_address, s.ipv6_ip_address}
    assert n["mac_address"] == s.mac_address and n["parent_id"] == parent and n["vlan_id"] == s.vlan_id
    listed = cloud.alice.ok("GET", f"/v1/projects/{cloud.project}/interfaces/{parent}/supplementary-interfaces")
    assert [x["id"] for x in listed["items"]] == [s.id]
    # The native API refuses its address to a new interface...
    r = cloud.alice.req(
        "POST", f"/v1/projects/{cloud.project}/interfaces",
        json={"network_id": cloud.default_net["id"], "fixed_ips": [{"ip_address": s.private_ip_address}]},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "AddressInUse"
    # ...and never picks it: fresh native interfaces and SNIs get other addresses.
    natives = [
        cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/interfaces", json={"network_id": cloud.default_net["id"]})
        for _ in range(3)
    ]
    taken = {f["ip_address"] for i in natives for f in i["fixed_ips"]}
    assert s.private_ip_address not in taken and s.ipv6_ip_address not in taken
    # A native supplementary interface is visible through the Huawei API.
    m = cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/interfaces/{parent}/supplementary-interfaces",
                       json={"network_id": cloud.default_net["id"], "vlan_id": 300})
    h = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(id=[m["id"]])).sub_network_interfaces
    assert len(h) == 1 and h[0].vlan_id == 300 and h[0].private_ip_address == next(
        f["ip_address"] for f in m["fixed_ips"] if "." in f["ip_address"])
    # The native API refuses to delete a parent that still carries them.
    r = cloud.alice.req("DELETE", f"/v1/projects/{cloud.project}/interfaces/{parent}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "InUse"
    # Native detach/attach.
    d = cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/supplementary-interfaces/{m['id']}/detach")
    assert d["parent_id"] is None and d["vlan_id"] is None
    r = cloud.alice.req("POST", f"/v1/projects/{cloud.project}/supplementary-interfaces/{m['id']}/attach",
                        json={"parent_id": parent, "vlan_id": s.vlan_id})
    assert r.status_code == 409 and r.json()["error"]["code"] == "VlanInUse"
    a = cloud.alice.ok("POST", f"/v1/projects/{cloud.project}/supplementary-interfaces/{m['id']}/attach",
                       json={"parent_id": parent})
    assert a["parent_id"] == parent and a["vlan_id"] not in (None, s.vlan_id)


def test_cli_creates_credentials_and_manages_supplementary_interfaces(cloud, tmp_path):
    from conftest import BINARY

    env = dict(os.environ, NICPLANE_CONFIG=str(tmp_path / "cli.json"), NICPLANE_URL=cloud.url, NICPLANE_PASSWORD="demo-password")

    def cli(*args, ok=True):
        out = subprocess.run([BINARY, *args, "--json"], env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout) if out.stdout.strip() else None
        assert out.returncode != 0
        return out.stderr

    cli("login", "-u", "alice")
    cred = cli("credential", "create", "--description", "from the CLI")
    assert len(cred["access"]) == 20 and len(cred["secret"]) == 40
    client = cloud.vpc_client(ak=cred["access"], sk=cred["secret"])
    parent = cloud.new_port("cli")
    s = cloud.create_sni(parent, client=client, vlan_id="9").sub_network_interface
    listed = cli("supplementary", "list", parent)
    assert [(x["id"], x["vlan_id"]) for x in listed] == [(s.id, 9)]
    made = cli("supplementary", "create", parent, "--vlan", "10", "--ipv6")
    assert made["vlan_id"] == 10 and len(made["fixed_ips"]) == 2
    assert "VLAN 10 is already used" in cli("supplementary", "create", parent, "--vlan", "10", ok=False)
    d = cli("supplementary", "detach", made["id"])
    assert d["parent_id"] is None
    a = cli("supplementary", "attach", made["id"], "--parent", parent)
    assert a["parent_id"] == parent and a["vlan_id"] == 1
    cli("supplementary", "delete", made["id"])
    assert cred["access"] in [c["access"] for c in cli("credential", "list")]
    cli("credential", "delete", cred["access"])
    expect_error(lambda: client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")


def test_a_nic_that_carries_supplementary_interfaces_cannot_be_removed(cloud):
    vm = cloud.vms["web-1"]["id"]
    j = add_nic(cloud, vm)
    assert j.status == "SUCCESS"
    nic = j.entities.sub_jobs[0].entities.nic_id
    s = cloud.create_sni(nic).sub_network_interface
    assert s.parent_device_id == vm
    j = delete_nic(cloud, vm, nic)
    assert j.status == "FAIL" and j.error_code == "InUse" and "supplementary" in j.fail_reason
    assert nic in {a.port_id for a in interfaces(cloud, vm).interface_attachments}
    r = cloud.alice.req("DELETE", f"/v1/projects/{cloud.project}/vms/{vm}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "InUse"
    from huaweicloudsdkvpc.v3 import DeleteSubNetworkInterfaceRequest

    cloud.vpc.delete_sub_network_interface(DeleteSubNetworkInterfaceRequest(sub_network_interface_id=s.id))
    j = delete_nic(cloud, vm, nic)
    assert j.status == "SUCCESS"
