"""External networks (issue 12) through the real `openstack` CLI: the cloud
admin's `openstack network create --external` and its subnet are the same
objects as the native external network and its public IP pool, a tenant's
`openstack floating ip create <ext-net>` takes an address from that network's
pool only, a tenant cannot make a network external, and deleting the
external network takes its unassociated floating IPs and subnets with it
(Neutron's behaviour). The cloud admin's `openstack port create` on an
external network takes an address no floating IP or router gateway can then
have; a tenant cannot make such a port."""

from conftest import NEUTRON, neutron_error, ok

POLICY = ("Only the cloud admin can make a network external "
          "(rule:create_network:router:external is disallowed by policy).")


def test_an_external_network_made_with_the_openstack_cli_is_the_native_one(cloud):
    admin = cloud.admin_token()
    ext = cloud.osc("network", "create", "--external", "os-ext", cloud="admin")
    try:
        assert ok(cloud.req("GET", f"{NEUTRON}/networks/{ext['id']}"), 200)["network"]["router:external"] is True
        sub = ok(cloud.req("POST", f"{NEUTRON}/subnets", token=admin, json={"subnet": {
            "network_id": ext["id"], "ip_version": 4, "cidr": "198.51.100.96/28", "name": "os-ext-sub",
            "enable_dhcp": False}}), 201)["subnet"]
        native = ok(cloud.native("GET", f"/external-networks/{ext['id']}", token=admin), 200)
        assert native["name"] == "os-ext" and native["pool_ids"] == [sub["id"]], native
        pools = ok(cloud.native("GET", "/public-ip-pools", token=admin), 200)
        assert [p["cidr"] for p in pools if p["id"] == sub["id"]] == ["198.51.100.96/28"]

        # A tenant sees it and takes a floating IP from its pool only.
        listed = ok(cloud.req("GET", f"{NEUTRON}/networks?router:external=true"), 200)["networks"]
        assert ext["id"] in [n["id"] for n in listed], listed
        fip = cloud.osc("floating", "ip", "create", "os-ext")
        assert fip["floating_network_id"] == ext["id"]
        assert fip["floating_ip_address"] == "198.51.100.98"

        err = cloud.osc_fails("network", "create", "--external", "os-ext-mine")
        assert POLICY in err, err

        # Deleting it takes the tenant's unassociated floating IP and the subnet.
        cloud.osc_ok("network", "delete", "os-ext", cloud="admin")
        fips = ok(cloud.req("GET", f"{NEUTRON}/floatingips"), 200)["floatingips"]
        assert fip["id"] not in [f["id"] for f in fips], fips
        assert cloud.req("GET", f"{NEUTRON}/subnets/{sub['id']}").status_code == 404
        assert cloud.native("GET", f"/external-networks/{ext['id']}", token=admin).status_code == 404
    finally:
        cloud.run(["openstack", "network", "delete", "os-ext"], cloud="admin", expect_ok=False)


def test_the_cloud_admins_port_on_an_external_network_holds_its_address(cloud):
    admin = cloud.admin_token()
    ext = cloud.osc("network", "create", "--external", "os-ext-ports", cloud="admin")
    try:
        sub = ok(cloud.req("POST", f"{NEUTRON}/subnets", token=admin, json={"subnet": {
            "network_id": ext["id"], "ip_version": 4, "cidr": "198.51.100.112/28",
            "enable_dhcp": False}}), 201)["subnet"]
        port = cloud.osc("port", "create", "--network", "os-ext-ports", "--fixed-ip",
                         "ip-address=198.51.100.120", "os-ext-port", cloud="admin")
        assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "198.51.100.120"}], port
        fip = {"floatingip": {"floating_network_id": ext["id"], "floating_ip_address": "198.51.100.120"}}
        neutron_error(
            cloud.req("POST", f"{NEUTRON}/floatingips", token=admin, json=fip),
            409, "IpAddressAlreadyAllocated",
            f"IP address 198.51.100.120 already allocated in subnet {sub['id']}")
        neutron_error(
            cloud.req("POST", f"{NEUTRON}/ports", json={"port": {"network_id": ext["id"]}}),
            403, "PolicyNotAuthorized",
            f"Only the cloud admin can make or change ports on external network {ext['id']} "
            "(rule:create_port on an external network is disallowed by policy).")
        assert cloud.req("DELETE", f"{NEUTRON}/ports/{port['id']}", token=admin).status_code == 204
        made = ok(cloud.req("POST", f"{NEUTRON}/floatingips", token=admin, json=fip), 201)["floatingip"]
        assert made["floating_ip_address"] == "198.51.100.120"
    finally:
        cloud.run(["openstack", "network", "delete", "os-ext-ports"], cloud="admin", expect_ok=False)
