"""Servers and their interfaces through `openstack`, `nova` and openstacksdk,
the console guide's rules through this dialect, the microversion matrix, and
the cross-dialect view against the native API."""

import uuid

import openstack
import pytest

from conftest import ADMIN_PASSWORD

MAX_INTERFACES = 5


def new_server(cloud, name, *extra):
    s = cloud.osc("server", "create", "--image", "cirros", "--flavor", "m1.tiny", *extra, name)
    assert s["name"] == name
    return s["id"]


def net(cloud, name):
    return cloud.osc("network", "show", name)["id"]


def ports_of(cloud, server):
    return cloud.osc("port", "list", "--server", server)


def test_server_create_show_list_delete(cloud):
    sid = new_server(cloud, "os-srv-1", "--network", "db-net", "--property", "role=test")
    show = cloud.osc("server", "show", sid)
    assert show["status"] == "ACTIVE"
    assert show["OS-EXT-AZ:availability_zone"] == "dc1"
    assert show["properties"] == {"role": "test"}
    assert "db-net" in str(show["addresses"]) and "10.20.0." in str(show["addresses"])
    assert "cirros" in show["image"]
    names = [s["Name"] for s in cloud.osc("server", "list")]
    assert "os-srv-1" in names and "web-1" in names
    # The primary interface is on the first requested network.
    pid = cloud.project_id()
    vm = cloud.native("GET", f"/projects/{pid}/vms/{sid}").json()
    assert vm["interfaces"][0]["primary"] and vm["interfaces"][0]["network_name"] == "db-net"
    assert vm["os_type"] == "linux"
    cloud.osc_ok("server", "delete", sid)
    assert "os-srv-1" not in [s["Name"] for s in cloud.osc("server", "list")]
    err = cloud.osc_fails("server", "show", sid)
    assert f"No Server found for {sid}" in err


def test_windows_server_from_metadata(cloud):
    sid = new_server(cloud, "os-win-2", "--property", "os_type=windows")
    pid = cloud.project_id()
    assert cloud.native("GET", f"/projects/{pid}/vms/{sid}").json()["os_type"] == "windows"
    cloud.osc_ok("server", "delete", sid)


def test_add_and_remove_network_with_tag_and_port_list(cloud):
    sid = new_server(cloud, "os-srv-2")
    cloud.osc_ok("--os-compute-api-version", "2.49", "server", "add", "network", "--tag", "data", sid, "db-net")
    ports = ports_of(cloud, sid)
    assert len(ports) == 2
    db = [p for p in ports if any(ip["ip_address"].startswith("10.20.0.") for ip in p["Fixed IP Addresses"])]
    assert len(db) == 1 and db[0]["Status"] == "ACTIVE"
    r = cloud.req("GET", f"/compute/v2.1/servers/{sid}/os-interface", headers={"X-OpenStack-Nova-API-Version": "2.70"})
    tags = {a["port_id"]: a["tag"] for a in r.json()["interfaceAttachments"]}
    assert tags[db[0]["ID"]] == "data"
    cloud.osc_ok("server", "remove", "network", sid, "db-net")
    assert len(ports_of(cloud, sid)) == 1
    # The port the attach created is gone.
    assert cloud.req("GET", f"/network/v2.0/ports/{db[0]['ID']}").status_code == 404
    cloud.osc_ok("server", "delete", sid)


def test_add_port_then_remove_port_keeps_the_port(cloud):
    sid = new_server(cloud, "os-srv-3")
    p = cloud.osc("port", "create", "--network", "db-net", "os-p3")
    cloud.osc_ok("server", "add", "port", sid, "os-p3")
    shown = cloud.osc("port", "show", "os-p3")
    assert shown["device_id"] == sid and shown["device_owner"].startswith("compute:")
    cloud.osc_ok("server", "remove", "port", sid, "os-p3")
    shown = cloud.osc("port", "show", "os-p3")
    assert shown["device_id"] == "" and shown["status"] == "DOWN"
    assert shown["fixed_ips"] == p["fixed_ips"]
    cloud.osc_ok("port", "delete", "os-p3")
    cloud.osc_ok("server", "delete", sid)


def test_nova_interface_commands(cloud):
    sid = new_server(cloud, "os-srv-4")
    db = net(cloud, "db-net")
    cloud.nova("interface-attach", "--net-id", db, "--fixed-ip", "10.20.0.50", sid)
    _, out, _ = cloud.nova("interface-list", sid)
    assert "10.20.0.50" in out
    port = next(p["ID"] for p in ports_of(cloud, sid) if any(i["ip_address"] == "10.20.0.50" for i in p["Fixed IP Addresses"]))
    # Fixed IP taken: the same address on another server is refused.
    other = new_server(cloud, "os-srv-4b")
    rc, _, err = cloud.nova("interface-attach", "--net-id", db, "--fixed-ip", "10.20.0.50", other, expect_ok=False)
    assert rc != 0 and "The IP address 10.20.0.50 is already in use on subnet" in err and "(HTTP 409)" in err
    # Fixed IP outside the network: 400.
    rc, _, err = cloud.nova("interface-attach", "--net-id", db, "--fixed-ip", "10.99.0.5", other, expect_ok=False)
    assert rc != 0 and "10.99.0.5 is not in any subnet of network db-net" in err and "(HTTP 400)" in err
    cloud.nova("interface-detach", sid, port)
    _, out, _ = cloud.nova("interface-list", sid)
    assert "10.20.0.50" not in out
    cloud.osc_ok("server", "delete", sid, other)


def test_sdk_create_server_interface(cloud):
    conn = openstack.connect(cloud="alice")
    sid = new_server(cloud, "os-srv-5")
    db = net(cloud, "db-net")
    iface = conn.compute.create_server_interface(sid, net_id=db)
    assert iface.port_state == "ACTIVE" and iface.net_id == db
    assert iface.fixed_ips[0]["ip_address"].startswith("10.20.0.")
    listed = list(conn.compute.server_interfaces(sid))
    assert {i.port_id for i in listed} >= {iface.port_id}
    conn.compute.delete_server_interface(iface.port_id, server=sid)
    cloud.osc_ok("server", "delete", sid)


def test_interface_limit_is_403(cloud):
    sid = new_server(cloud, "os-limit")
    for _ in range(MAX_INTERFACES - 1):
        cloud.osc_ok("server", "add", "network", sid, "db-net")
    err = cloud.osc_fails("server", "add", "network", sid, "db-net")
    assert "VM os-limit already has 5 network interfaces, the maximum is 5." in err
    assert "ForbiddenException: 403: Client Error" in err
    cloud.osc_ok("server", "delete", sid)


def test_windows_running_refuses_hot_plug_until_stopped(cloud):
    err = cloud.osc_fails("server", "add", "network", "win-1", "db-net")
    assert "VM win-1 runs Windows and is running: stop the VM before adding or removing network interfaces." in err
    assert "ConflictException: 409: Client Error" in err
    cloud.osc_ok("server", "stop", "win-1")
    assert cloud.osc("server", "show", "win-1")["status"] == "SHUTOFF"
    cloud.osc_ok("server", "add", "network", "win-1", "db-net")
    cloud.osc_ok("server", "remove", "network", "win-1", "db-net")
    cloud.osc_ok("server", "start", "win-1")
    assert cloud.osc("server", "show", "win-1")["status"] == "ACTIVE"


def test_primary_interface_cannot_be_removed(cloud):
    sid = new_server(cloud, "os-prim")
    primary = ports_of(cloud, sid)[0]["ID"]
    err = cloud.osc_fails("server", "remove", "port", sid, primary)
    assert f"Network interface {primary} is the primary interface of its VM and cannot be removed." in err
    assert "ConflictException: 409: Client Error" in err
    cloud.osc_ok("server", "delete", sid)


def test_network_in_another_data_center_is_refused(cloud):
    admin = cloud.admin_token()
    r = cloud.native("POST", "/data-centers", token=admin, json={"name": "dc2"})
    assert r.status_code == 201, r.text
    dc2 = next(d for d in cloud.native("GET", "/data-centers", token=admin).json() if d["name"] == "dc2")
    cloud.osc("network", "create", "--availability-zone-hint", "dc2", "far-net")
    cloud.osc("subnet", "create", "--network", "far-net", "--subnet-range", "10.70.0.0/24", "far-v4")
    assert cloud.osc("network", "show", "far-net")["availability_zones"] == ["dc2"]
    err = cloud.osc_fails("server", "add", "network", "web-1", "far-net")
    assert "Network far-net is in another data center than VM web-1" in err and "BadRequestException: 400: Client Error" in err
    assert dc2["id"]


def test_microversion_matrix_for_tag(cloud):
    sid = new_server(cloud, "os-mv")
    db = net(cloud, "db-net")
    path = f"/compute/v2.1/servers/{sid}/os-interface"
    for version, accepted, returned in [("2.1", False, False), ("2.48", False, False), ("2.49", True, False),
                                        ("2.69", True, False), ("2.70", True, True), ("latest", True, True)]:
        h = {"OpenStack-API-Version": f"compute {version}", "X-OpenStack-Nova-API-Version": version}
        r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {"net_id": db, "tag": "mv"}})
        if not accepted:
            assert r.status_code == 400, (version, r.text)
            assert "Additional properties are not allowed ('tag' was unexpected)" in r.json()["badRequest"]["message"]
            r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {"net_id": db}})
        assert r.status_code == 200, (version, r.text)
        att = r.json()["interfaceAttachment"]
        assert set(att) == {"fixed_ips", "mac_addr", "net_id", "port_id", "port_state"} | ({"tag"} if returned else set())
        if returned:
            assert att["tag"] == ("mv" if accepted else None)
        shown = cloud.req("GET", f"{path}/{att['port_id']}", headers=h).json()["interfaceAttachment"]
        assert ("tag" in shown) == returned
        listed = cloud.req("GET", path, headers=h).json()["interfaceAttachments"]
        assert all(("tag" in a) == returned for a in listed)
        d = cloud.req("DELETE", f"{path}/{att['port_id']}", headers=h)
        assert d.status_code == 202 and d.text == ""
    cloud.osc_ok("server", "delete", sid)


def test_seed_request_shapes(cloud):
    sid = new_server(cloud, "os-seed")
    db = net(cloud, "db-net")
    sg = cloud.osc("security", "group", "show", "default")
    path = f"/compute/v2.1/servers/{sid}/os-interface"
    h = {"X-OpenStack-Nova-API-Version": "2.67"}
    # The seed's first example: an address of a family, port security, groups.
    r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {
        "net_id": db, "fixed_ips": [{"ip_version": 4}], "port_security_enabled": True, "security_groups": [sg["id"]]}})
    assert r.status_code == 200, r.text
    att = r.json()["interfaceAttachment"]
    assert att["port_state"] == "ACTIVE" and att["fixed_ips"][0]["ip_address"].startswith("10.20.0.")
    port = cloud.osc("port", "show", att["port_id"])
    assert port["security_group_ids"] == [sg["id"]] and port["port_security_enabled"] is True
    # The seed's second example: a chosen address; groups by name.
    r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {
        "net_id": db, "fixed_ips": [{"ip_address": "10.20.0.77"}], "port_security_enabled": True, "security_groups": ["default"]}})
    assert r.status_code == 200 and r.json()["interfaceAttachment"]["fixed_ips"][0]["ip_address"] == "10.20.0.77"
    bad = [
        ({"interfaceAttachment": {"net_id": db, "color": "red"}}, "('color' was unexpected)"),
        ({"interfaceAttachment": {"net_id": db, "port_id": att["port_id"]}}, "Must not input both network_id and port_id"),
        ({"interfaceAttachment": {"fixed_ips": [{"ip_address": "10.20.0.9"}]}}, "Must input network_id when request IP address"),
        ({"interfaceAttachment": {"net_id": db, "fixed_ips": [{"ip_address": "10.20.0.9", "ip_version": 6}]}}, "is not an IPv6 address"),
        ({"interfaceAttachment": {"net_id": db, "fixed_ips": [{"ip_version": 5}]}}, "is not one of [4, 6]"),
        ({"interfaceAttachment": {"net_id": "nope"}}, "is not a 'uuid'"),
    ]
    for body, message in bad:
        r = cloud.req("POST", path, headers=h, json=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["badRequest"]["message"], (body, r.text)
    # IPv6 from the Default Network's /64.
    default = cloud.req("GET", "/network/v2.0/networks?name=Default%20Network&availability_zones=dc1").json()["networks"][0]["id"]
    r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {"net_id": default, "fixed_ips": [{"ip_version": 6}]}})
    assert r.status_code == 200 and ":" in r.json()["interfaceAttachment"]["fixed_ips"][0]["ip_address"]
    # Another project's port, or a missing one: not found, in the same words.
    admin = cloud.admin_token()
    # The cloud admin lists every project's networks: name its own project.
    admin_project = cloud.project_id("admin", "admin", ADMIN_PASSWORD)
    admin_net = cloud.req("GET", f"/network/v2.0/networks?name=Default%20Network&project_id={admin_project}",
                          token=admin).json()["networks"][0]["id"]
    r = cloud.req("POST", "/network/v2.0/ports", token=admin, json={"port": {"network_id": admin_net, "name": "admins-port"}})
    assert r.status_code == 201, r.text
    theirs = r.json()["port"]["id"]
    for port_id in (theirs, str(uuid.uuid4())):
        r = cloud.req("POST", path, headers=h, json={"interfaceAttachment": {"port_id": port_id}})
        assert r.status_code == 404, r.text
        assert r.json()["itemNotFound"]["message"] == f"Port id {port_id} could not be found.", r.text
        r = cloud.req("DELETE", f"{path}/{port_id}")
        assert r.status_code == 404 and "does not have a port with id" in r.json()["itemNotFound"]["message"], r.text
    # The other project's port is untouched.
    r = cloud.req("GET", f"/network/v2.0/ports/{theirs}", token=admin)
    assert r.status_code == 200 and r.json()["port"]["device_id"] == "", r.text
    # A reader may look but not attach.
    carol = cloud.token("carol", "demo")[0]
    assert cloud.req("GET", path, token=carol).status_code == 200
    r = cloud.req("POST", path, token=carol, json={"interfaceAttachment": {"net_id": db}})
    assert r.status_code == 403 and "read-only" in r.json()["forbidden"]["message"]
    cloud.osc_ok("server", "delete", sid)


def test_cross_dialect_addresses(cloud):
    pid = cloud.project_id()
    sid = new_server(cloud, "os-cross")
    cloud.osc_ok("server", "add", "network", sid, "db-net")
    native = cloud.native("GET", f"/projects/{pid}/vms/{sid}/interfaces").json()
    on_db = [i for i in native if i["network_name"] == "db-net"]
    assert len(on_db) == 1
    osc_ports = {p["ID"]: p for p in ports_of(cloud, sid)}
    assert [ip["ip_address"] for ip in osc_ports[on_db[0]["id"]]["Fixed IP Addresses"]] == \
        [ip["ip_address"] for ip in on_db[0]["fixed_ips"]]
    # And the reverse: attached natively, seen by the OpenStack clients.
    db = net(cloud, "db-net")
    r = cloud.native("POST", f"/projects/{pid}/vms/{sid}/interfaces", json={"network_id": db})
    assert r.status_code == 201, r.text
    made = r.json()
    osc_ports = {p["ID"]: p for p in ports_of(cloud, sid)}
    assert [ip["ip_address"] for ip in osc_ports[made["id"]]["Fixed IP Addresses"]] == \
        [ip["ip_address"] for ip in made["fixed_ips"]]
    show = cloud.osc("server", "show", sid)
    assert made["fixed_ips"][0]["ip_address"] in str(show["addresses"])
    cloud.osc_ok("server", "delete", sid)
