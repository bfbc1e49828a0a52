"""Quotas through the real `openstack` CLI (issue 9, point 4): the cloud admin
sets a port quota, the tenant creates ports until refused (exactly N), the
CLI shows Neutron's OverQuota message, `openstack quota show` reports limits
and usage, and a tenant cannot change quotas."""

import pytest

PORT_ROOM = 3


def quota_rows(rows):
    """`openstack quota show -f json` rows as {resource: value}."""
    return {r["Resource"]: r for r in rows}


@pytest.fixture
def demo_quota_reset(cloud):
    """Put the demo project's quotas back to the defaults afterwards."""
    yield
    r = cloud.req("DELETE", f"/network/v2.0/quotas/{cloud.project_id()}", token=cloud.admin_token())
    assert r.status_code == 204, r.text


def test_quota_set_then_create_ports_until_refused(cloud, demo_quota_reset):
    demo = cloud.project_id()
    # db-net is in web-1's data center (other tests add networks elsewhere).
    net = next(n for n in cloud.osc("network", "list") if n["Name"] == "db-net")
    usage = cloud.req("GET", f"/network/v2.0/quotas/{demo}/details").json()["quota"]["port"]
    assert usage["limit"] == 500 and usage["reserved"] == 0
    limit = usage["used"] + PORT_ROOM
    cloud.osc_ok("quota", "set", "--ports", str(limit), "demo", cloud="admin")

    shown = quota_rows(cloud.osc("quota", "show", "demo", cloud="admin"))
    assert shown["ports"]["Limit"] == limit

    made = 0
    err = ""
    for i in range(PORT_ROOM + 2):
        rc, out, err = cloud.run(["openstack", "port", "create", "--network", net["ID"], f"q{i}"], expect_ok=False)
        if rc != 0:
            break
        made += 1
    assert made == PORT_ROOM
    assert "Quota exceeded for resources: ['port']." in err, err
    assert "ConflictException: 409: Client Error" in err, err

    details = cloud.req("GET", f"/network/v2.0/quotas/{demo}/details").json()["quota"]["port"]
    assert details == {"limit": limit, "used": limit, "reserved": 0}
    used = quota_rows(cloud.osc("quota", "show", "--usage", "demo", cloud="admin"))
    assert used["ports"]["In Use"] == limit

    # Deleting one port makes room for exactly one more.
    cloud.osc_ok("port", "delete", "q0")
    cloud.osc_ok("port", "create", "--network", net["ID"], "q-again")
    rc, _, err = cloud.run(["openstack", "port", "create", "--network", net["ID"], "q-over"], expect_ok=False)
    assert rc != 0 and "Quota exceeded for resources: ['port']." in err
    for i in range(1, PORT_ROOM):
        cloud.osc_ok("port", "delete", f"q{i}")
    cloud.osc_ok("port", "delete", "q-again")


def test_only_the_cloud_admin_sets_quotas(cloud, demo_quota_reset):
    err = cloud.osc_fails("quota", "set", "--networks", "1000", "demo")
    assert "rule:update_quota is disallowed by policy" in err, err
    # Every network quota option of the CLI reaches Neutron.
    cloud.osc_ok("quota", "set", "--networks", "7", "--subnets", "8", "--floating-ips", "9",
                 "--secgroups", "11", "--secgroup-rules", "120", "--ports", "-1", "demo", cloud="admin")
    q = cloud.req("GET", f"/network/v2.0/quotas/{cloud.project_id()}").json()["quota"]
    assert q == {"network": 7, "subnet": 8, "floatingip": 9, "security_group": 11,
                 "security_group_rule": 120, "port": -1, "router": 10}
    # A tenant may look at its own quotas.
    mine = quota_rows(cloud.osc("quota", "show", "demo"))
    assert mine["networks"]["Limit"] == 7
    # `openstack quota list --network` shows the projects whose quotas differ
    # from the defaults.
    rows = cloud.osc("quota", "list", "--network", cloud="admin")
    assert [(r["Project ID"], r["Networks"], r["Ports"]) for r in rows] == [(cloud.project_id(), 7, -1)]
    listed = cloud.req("GET", "/network/v2.0/quotas", token=cloud.admin_token()).json()["quotas"]
    assert [x["project_id"] for x in listed] == [cloud.project_id()]
    r = cloud.req("GET", "/network/v2.0/quotas")
    assert r.status_code == 403, r.text
    # Another project's quotas are not the tenant's to read.
    from conftest import ADMIN_PASSWORD
    other = cloud.project_id("admin", "admin", ADMIN_PASSWORD)
    r = cloud.req("GET", f"/network/v2.0/quotas/{other}")
    assert r.status_code == 403, r.text
    assert r.json()["NeutronError"]["message"] == "Non-admin is not authorized to access quotas for another project"
    exts = {e["alias"] for e in cloud.req("GET", "/network/v2.0/extensions").json()["extensions"]}
    assert {"quotas", "quota_details"} <= exts


def test_nova_answers_a_port_over_quota_with_403_and_bulk_creates_are_all_or_nothing(cloud, demo_quota_reset):
    demo = cloud.project_id()
    admin = cloud.admin_token()
    used = cloud.req("GET", f"/network/v2.0/quotas/{demo}/details").json()["quota"]["port"]["used"]
    r = cloud.req("PUT", f"/network/v2.0/quotas/{demo}", token=admin, json={"quota": {"port": used + 1}})
    assert r.status_code == 200 and r.json()["quota"]["port"] == used + 1, r.text
    # db-net is in web-1's data center (other tests add networks elsewhere).
    net = next(n for n in cloud.osc("network", "list") if n["Name"] == "db-net")
    # Two ports in one bulk request, one place left: neither is created.
    r = cloud.req("POST", "/network/v2.0/ports", json={"ports": [
        {"network_id": net["ID"], "name": "bulk-a"}, {"network_id": net["ID"], "name": "bulk-b"}]})
    assert r.status_code == 409, r.text
    assert r.json()["NeutronError"]["type"] == "OverQuota"
    assert r.json()["NeutronError"]["message"] == "Quota exceeded for resources: ['port']."
    assert cloud.req("GET", f"/network/v2.0/quotas/{demo}/details").json()["quota"]["port"]["used"] == used
    # Take the last place, then ask Nova for one more interface.
    cloud.osc_ok("port", "create", "--network", net["ID"], "last-place")
    server = next(s for s in cloud.osc("server", "list") if s["Name"] == "web-1")
    r = cloud.req("POST", f"/compute/v2.1/servers/{server['ID']}/os-interface",
                  json={"interfaceAttachment": {"net_id": net["ID"]}})
    assert r.status_code == 403, r.text
    assert r.json() == {"forbidden": {"code": 403, "message": "Maximum number of ports exceeded"}}
    cloud.osc_ok("port", "delete", "last-place")
