"""Neutron through `openstack` and openstacksdk: networks and subnets, ports
with filters and pagination, floating IPs with the public IP rules, security
groups, trunks on supplementary interfaces, and the extension list."""

import openstack
import requests


def test_port_create_show_set_delete_and_tags(cloud):
    p = cloud.osc("port", "create", "--network", "db-net", "--fixed-ip", "subnet=db-net-v4,ip-address=10.20.0.60",
                  "--description", "made by osc", "--tag", "env=test", "os-port-a")
    assert p["fixed_ips"][0]["ip_address"] == "10.20.0.60"
    assert p["status"] == "DOWN" and p["device_id"] == "" and p["mac_address"].startswith("fa:16:3e")
    shown = cloud.osc("port", "show", "os-port-a")
    assert shown["description"] == "made by osc" and shown["tags"] == ["env=test"]
    assert shown["port_security_enabled"] is True and len(shown["security_group_ids"]) == 1
    cloud.osc_ok("port", "set", "--name", "os-port-b", "--tag", "team", "--allowed-address", "ip-address=10.20.0.200",
                 "os-port-a")
    shown = cloud.osc("port", "show", "os-port-b")
    assert sorted(shown["tags"]) == ["env=test", "team"]
    assert shown["allowed_address_pairs"][0]["ip_address"] == "10.20.0.200"
    cloud.osc_ok("port", "set", "--no-security-group", "--disable-port-security", "os-port-b")
    shown = cloud.osc("port", "show", "os-port-b")
    assert shown["port_security_enabled"] is False and shown["security_group_ids"] == []
    # Native view of the same interface.
    pid = cloud.project_id()
    native = cloud.native("GET", f"/projects/{pid}/interfaces/{shown['id']}").json()
    assert native["name"] == "os-port-b" and native["fixed_ips"][0]["ip_address"] == "10.20.0.60"
    cloud.osc_ok("port", "delete", "os-port-b")
    assert "No Port found for os-port-b" in cloud.osc_fails("port", "show", "os-port-b")
    r = cloud.req("GET", f"/network/v2.0/ports/{shown['id']}")
    assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "PortNotFound"


def test_fixed_ip_in_use_and_outside_the_network(cloud):
    cloud.osc("port", "create", "--network", "db-net", "--fixed-ip", "ip-address=10.20.0.61", "os-port-c")
    err = cloud.osc_fails("port", "create", "--network", "db-net", "--fixed-ip", "ip-address=10.20.0.61", "os-port-d")
    assert "The IP address 10.20.0.61 is already in use on subnet db-net-v4." in err and "ConflictException: 409: Client Error" in err
    err = cloud.osc_fails("port", "create", "--network", "db-net", "--fixed-ip", "ip-address=192.168.9.9", "os-port-d")
    assert "The IP address 192.168.9.9 is not in any subnet of network db-net." in err and "BadRequestException: 400: Client Error" in err
    cloud.osc_ok("port", "delete", "os-port-c")


def test_bulk_create_is_atomic_and_filters_work(cloud):
    db = cloud.osc("network", "show", "db-net")["id"]
    r = cloud.req("POST", "/network/v2.0/ports", json={"ports": [
        {"network_id": db, "name": "bulk-1"}, {"network_id": db, "name": "bulk-2", "fixed_ips": [{"ip_address": "10.20.0.90"}]}]})
    assert r.status_code == 201 and [p["name"] for p in r.json()["ports"]] == ["bulk-1", "bulk-2"]
    before = len(cloud.req("GET", "/network/v2.0/ports").json()["ports"])
    r = cloud.req("POST", "/network/v2.0/ports", json={"ports": [
        {"network_id": db, "name": "bulk-3"}, {"network_id": db, "name": "bulk-4", "fixed_ips": [{"ip_address": "10.20.0.90"}]}]})
    assert r.status_code == 409 and "10.20.0.90 is already in use" in r.json()["NeutronError"]["message"]
    assert len(cloud.req("GET", "/network/v2.0/ports").json()["ports"]) == before
    got = cloud.req("GET", "/network/v2.0/ports?fixed_ips=ip_address%3D10.20.0.90&fields=id&fields=name").json()["ports"]
    assert got == [{"id": r2["id"], "name": "bulk-2"} for r2 in got] and len(got) == 1 and set(got[0]) == {"id", "name"}
    got = cloud.req("GET", "/network/v2.0/ports?name=bulk-1&name=bulk-2").json()["ports"]
    assert sorted(p["name"] for p in got) == ["bulk-1", "bulk-2"]
    got = cloud.req("GET", "/network/v2.0/ports?device_id=&network_id=" + db).json()["ports"]
    assert {"bulk-1", "bulk-2"} <= {p["name"] for p in got} and all(p["device_id"] == "" for p in got)
    r = cloud.req("GET", "/network/v2.0/ports?colour=red")
    assert r.status_code == 400 and "[colour] is invalid attribute for filtering" in r.json()["NeutronError"]["message"]
    got = cloud.req("GET", "/network/v2.0/ports?sort_key=name&sort_dir=desc&name=bulk-1&name=bulk-2").json()["ports"]
    assert [p["name"] for p in got] == ["bulk-2", "bulk-1"]
    for p in cloud.req("GET", "/network/v2.0/ports?name=bulk-1&name=bulk-2").json()["ports"]:
        assert cloud.req("DELETE", f"/network/v2.0/ports/{p['id']}").status_code == 204


def test_sdk_ports_across_several_pages(cloud):
    conn = openstack.connect(cloud="alice")
    db = conn.network.find_network("db-net")
    made = [conn.network.create_port(network_id=db.id, name=f"page-{i}") for i in range(7)]
    seen = [p.name for p in conn.network.ports(network_id=db.id, limit=2) if p.name.startswith("page-")]
    assert sorted(seen) == sorted(p.name for p in made)
    # The pages themselves: links onwards, none after the last.
    r = cloud.req("GET", f"/network/v2.0/ports?network_id={db.id}&limit=2").json()
    assert len(r["ports"]) == 2 and r["ports_links"][0]["rel"] == "next"
    pages, url = 0, r["ports_links"][0]["href"]
    # Bounded: a server whose links never end must fail the test, not hang it.
    for _ in range(50):
        if not url:
            break
        page = requests.get(url, headers={"X-Auth-Token": cloud.token()[0]}, timeout=30).json()
        pages += 1
        url = next((l["href"] for l in page.get("ports_links", []) if l["rel"] == "next"), None)
    assert url is None, "the ports_links never ended"
    assert pages >= 3
    for p in made:
        conn.network.delete_port(p)


def test_floating_ip_create_set_unset_delete(cloud):
    cloud.osc("port", "create", "--network", "db-net", "os-fip-port")
    fip = cloud.osc("floating", "ip", "create", "--port", "os-fip-port", "public")
    assert fip["floating_ip_address"].startswith("203.0.113.")
    port = cloud.osc("port", "show", "os-fip-port")
    assert fip["port_id"] == port["id"] and fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    cloud.osc_ok("floating", "ip", "unset", "--port", fip["floating_ip_address"])
    assert cloud.osc("floating", "ip", "show", fip["id"])["port_id"] is None
    cloud.osc_ok("floating", "ip", "set", "--port", "os-fip-port", fip["floating_ip_address"])
    assert cloud.osc("floating", "ip", "show", fip["id"])["port_id"] == port["id"]
    # One public IP per port.
    err = cloud.osc_fails("floating", "ip", "create", "--port", "os-fip-port", "public")
    assert f"already has the public IP {fip['floating_ip_address']}" in err and "ConflictException: 409: Client Error" in err
    # The native API sees it on the interface.
    pid = cloud.project_id()
    assert cloud.native("GET", f"/projects/{pid}/interfaces/{port['id']}").json()["public_ip"] == fip["floating_ip_address"]
    cloud.osc_ok("floating", "ip", "delete", fip["id"])
    # Release is permanent: the next allocation gets another address.
    again = cloud.osc("floating", "ip", "create", "--port", "os-fip-port", "public")
    assert again["floating_ip_address"] != fip["floating_ip_address"]
    cloud.osc_ok("floating", "ip", "delete", again["id"])
    cloud.osc_ok("port", "delete", "os-fip-port")


def test_floating_ip_refused_on_an_l2_network(cloud):
    cloud.osc("port", "create", "--network", "storage-l2", "os-l2-port")
    err = cloud.osc_fails("floating", "ip", "create", "--port", "os-l2-port", "public")
    assert "Network storage-l2 is a custom (L2) network; public IPs can only be allocated on interfaces of standard (L3) networks." in err
    assert "ConflictException: 409: Client Error" in err
    cloud.osc_ok("port", "delete", "os-l2-port")


def test_public_pool_exhaustion(cloud):
    admin = cloud.admin_token()
    r = cloud.native("POST", "/data-centers", token=admin, json={"name": "dc3"})
    assert r.status_code == 201, r.text
    dc3 = r.json()["id"]
    r = cloud.native("POST", "/public-ip-pools", token=admin, json={"name": "tiny", "data_center_id": dc3, "cidr": "198.51.100.0/29"})
    assert r.status_code == 201, r.text
    external = cloud.osc("network", "list", "--external")
    tiny = next(n for n in external if n["Name"] == "tiny")
    assert tiny["ID"] == dc3
    made = []
    while True:
        rc, out, err = cloud.run(["openstack", "floating", "ip", "create", "tiny", "-f", "json"], expect_ok=False)
        if rc != 0:
            break
        made.append(out)
        assert len(made) <= 6, "a /29 has five free addresses"
    assert len(made) == 5
    assert "The public IP pool tiny is exhausted: no public IP address is free." in err and "ConflictException: 409: Client Error" in err


def test_network_and_subnet_lifecycle(cloud):
    n = cloud.osc("network", "create", "os-net")
    assert n["subnets"] == [] and n["router:external"] is False and n["availability_zones"] == ["dc1"]
    s = cloud.osc("subnet", "create", "--network", "os-net", "--subnet-range", "10.40.0.0/24", "os-net-v4")
    assert s["gateway_ip"] == "10.40.0.1" and s["allocation_pools"][0]["start"] == "10.40.0.2"
    assert cloud.osc("network", "show", "os-net")["subnets"] == [s["id"]]
    # With a subnet the network is routed: floating IPs work on its ports.
    cloud.osc("port", "create", "--network", "os-net", "os-net-port")
    fip = cloud.osc("floating", "ip", "create", "--port", "os-net-port", "public")
    err = cloud.osc_fails("network", "delete", "os-net")
    # Neutron's words through Neutron (the native API keeps the console guide's).
    assert "There are one or more ports still in use on the network." in err and "ConflictException: 409" in err
    cloud.osc_ok("floating", "ip", "delete", fip["id"])
    cloud.osc_ok("port", "delete", "os-net-port")
    cloud.osc_ok("subnet", "delete", "os-net-v4")
    cloud.osc_ok("network", "delete", "os-net")
    assert "os-net" not in [x["Name"] for x in cloud.osc("network", "list")]
    external = cloud.osc("network", "list", "--external")
    assert "public" in [x["Name"] for x in external]


def test_security_groups(cloud):
    groups = cloud.osc("security", "group", "list")
    assert "default" in [g["Name"] for g in groups]
    sg = cloud.osc("security", "group", "create", "--description", "web", "os-web")
    rule = cloud.osc("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--ingress", "os-web")
    assert rule["port_range_min"] == 22 and rule["direction"] == "ingress"
    shown = cloud.osc("security", "group", "show", "os-web")
    assert any(r["id"] == rule["id"] for r in shown["rules"])
    err = cloud.osc_fails("security", "group", "delete", "default")
    assert "The default security group cannot be deleted." in err
    cloud.osc_ok("security", "group", "rule", "delete", rule["id"])
    cloud.osc_ok("security", "group", "delete", sg["id"])


def test_trunks_on_supplementary_interfaces(cloud):
    for name in ["os-parent", "os-sub1", "os-sub2"]:
        cloud.osc("port", "create", "--network", "db-net", name)
    t = cloud.osc("network", "trunk", "create", "--parent-port", "os-parent",
                  "--subport", "port=os-sub1,segmentation-type=vlan,segmentation-id=100", "os-trunk")
    assert t["name"] == "os-trunk" and len(t["sub_ports"]) == 1
    cloud.osc_ok("network", "trunk", "set", "--subport", "port=os-sub2,segmentation-type=vlan,segmentation-id=101", "os-trunk")
    subs = cloud.osc("network", "subport", "list", "--trunk", "os-trunk")
    assert sorted(s["Segmentation ID"] for s in subs) == [100, 101]
    parent = cloud.osc("port", "show", "os-parent")
    assert parent["trunk_details"]["trunk_id"] == t["id"] and len(parent["trunk_details"]["sub_ports"]) == 2
    sub1 = cloud.osc("port", "show", "os-sub1")
    assert sub1["device_owner"] == "trunk:subport"
    # The same model as the Huawei dialect: supplementary interfaces on the parent.
    pid = cloud.project_id()
    native = cloud.native("GET", f"/projects/{pid}/interfaces/{parent['id']}/supplementary-interfaces")
    assert native.status_code == 200, native.text
    body = native.json()
    items = body["items"] if isinstance(body, dict) else body
    assert sorted(i["vlan_id"] for i in items) == [100, 101]
    # VLAN ids are unique per parent.
    cloud.osc("port", "create", "--network", "db-net", "os-sub3")
    err = cloud.osc_fails("network", "trunk", "set", "--subport", "port=os-sub3,segmentation-type=vlan,segmentation-id=100", "os-trunk")
    assert "VLAN 100 is already used on parent interface" in err and "ConflictException: 409: Client Error" in err
    err = cloud.osc_fails("network", "trunk", "set", "--subport", "port=os-sub3,segmentation-type=vlan,segmentation-id=4095", "os-trunk")
    assert "BadRequestException: 400: Client Error" in err
    cloud.osc_ok("network", "trunk", "unset", "--subport", "os-sub1", "os-trunk")
    subs = cloud.osc("network", "subport", "list", "--trunk", "os-trunk")
    assert [s["Segmentation ID"] for s in subs] == [101]
    assert cloud.osc("port", "show", "os-sub1")["device_owner"] == ""
    # The raw add/remove answers are the trunk, unwrapped.
    sub3 = cloud.osc("port", "show", "os-sub3")["id"]
    r = cloud.req("PUT", f"/network/v2.0/trunks/{t['id']}/add_subports",
                  json={"sub_ports": [{"port_id": sub3, "segmentation_type": "vlan", "segmentation_id": 7}]})
    assert r.status_code == 200 and r.json()["id"] == t["id"] and len(r.json()["sub_ports"]) == 2
    r = cloud.req("PUT", f"/network/v2.0/trunks/{t['id']}/remove_subports", json={"sub_ports": [{"port_id": sub3}]})
    assert r.status_code == 200 and "sub_ports" in r.json()
    cloud.osc_ok("network", "trunk", "delete", "os-trunk")
    for name in ["os-sub1", "os-sub2", "os-sub3", "os-parent"]:
        cloud.osc_ok("port", "delete", name)


def test_extensions_and_errors(cloud):
    aliases = [e["Alias"] for e in cloud.osc("extension", "list", "--network")]
    for a in ["trunk", "security-group", "external-net", "port-security", "allowed-address-pairs", "pagination",
              "router", "ext-gw-mode"]:
        assert a in aliases
    assert "dvr" not in aliases
    r = cloud.req("GET", "/network/v2.0/extensions/dvr")
    assert r.status_code == 404
    r = cloud.req("POST", "/network/v2.0/ports", json={"port": {"network_id": "x", "colour": 1}})
    assert r.status_code == 400 and r.json()["NeutronError"]["message"] == "Unrecognized attribute(s) 'colour'"
    r = cloud.req("GET", "/network/v2.0/networks.json")
    assert r.status_code == 200 and "networks" in r.json()
    carol = cloud.token("carol", "demo")[0]
    db = cloud.osc("network", "show", "db-net")["id"]
    r = cloud.req("POST", "/network/v2.0/ports", token=carol, json={"port": {"network_id": db}})
    assert r.status_code == 403 and "read-only" in r.json()["NeutronError"]["message"]
