"""Routers (issue 12) through the real `openstack router ...` CLI: create,
external gateway on the data center's external network (`public`), a subnet
interface whose port shows in `openstack port list --router`, a floating IP
that goes through the router (its `router_id`), Neutron's refusals while the
interface or router is in use, and the teardown in Neutron's order."""

from conftest import NEUTRON


def test_a_router_connects_a_subnet_to_the_public_network(cloud):
    cloud.osc("network", "create", "os-rt-net")
    sub = cloud.osc("subnet", "create", "--network", "os-rt-net", "--subnet-range", "10.77.0.0/24", "os-rt-sub")
    router = cloud.osc("router", "create", "os-rt")
    rid = router["id"]
    fip = None
    try:
        assert router["status"] == "ACTIVE" and router["external_gateway_info"] is None
        cloud.osc_ok("router", "set", "--external-gateway", "public", "os-rt")
        shown = cloud.osc("router", "show", "os-rt")
        gw = shown["external_gateway_info"]
        public = cloud.osc("network", "show", "public")["id"]
        assert gw["network_id"] == public and gw["enable_snat"] is True
        assert gw["external_fixed_ips"][0]["ip_address"].startswith("203.0.113.")

        cloud.osc_ok("router", "add", "subnet", "os-rt", "os-rt-sub")
        ports = cloud.osc("port", "list", "--router", "os-rt", "--long")
        assert len(ports) == 1, ports
        assert ports[0]["Device Owner"] == "network:router_interface"
        assert ports[0]["Fixed IP Addresses"][0]["ip_address"] == "10.77.0.1"
        owned = cloud.osc("port", "list", "--device-owner", "network:router_interface")
        assert [p["ID"] for p in owned] == [ports[0]["ID"]]

        err = cloud.osc_fails("router", "delete", "os-rt")
        assert f"Router {rid} still has ports" in err, err

        cloud.osc("port", "create", "--network", "os-rt-net", "os-rt-port")
        fip = cloud.osc("floating", "ip", "create", "--port", "os-rt-port", "public")
        assert fip["router_id"] == rid
        err = cloud.osc_fails("router", "remove", "subnet", "os-rt", "os-rt-sub")
        assert (f"Router interface for subnet {sub['id']} on router {rid} cannot be deleted, "
                "as it is required by one or more floating IPs.") in err, err

        cloud.osc_ok("floating", "ip", "delete", fip["id"])
        fip = None
        cloud.osc_ok("router", "remove", "subnet", "os-rt", "os-rt-sub")
        assert cloud.osc("port", "list", "--router", "os-rt") == []
        cloud.osc_ok("router", "unset", "--external-gateway", "os-rt")
        assert cloud.osc("router", "show", "os-rt")["external_gateway_info"] is None
    finally:
        if fip:
            cloud.osc_ok("floating", "ip", "delete", fip["id"])
        cloud.run(["openstack", "router", "remove", "subnet", "os-rt", "os-rt-sub"], expect_ok=False)
        cloud.run(["openstack", "router", "delete", "os-rt"], expect_ok=False)
        cloud.run(["openstack", "port", "delete", "os-rt-port"], expect_ok=False)
        cloud.run(["openstack", "network", "delete", "os-rt-net"], expect_ok=False)
    assert cloud.req("GET", f"{NEUTRON}/routers/{rid}").status_code == 404


def test_a_floating_ip_needs_the_routers_gateway(cloud):
    """A subnet on a router without a gateway reaches no external network."""
    cloud.osc("network", "create", "os-rt2-net")
    sub = cloud.osc("subnet", "create", "--network", "os-rt2-net", "--subnet-range", "10.78.0.0/24", "os-rt2-sub")
    cloud.osc("router", "create", "os-rt2")
    try:
        cloud.osc_ok("router", "add", "subnet", "os-rt2", "os-rt2-sub")
        port = cloud.osc("port", "create", "--network", "os-rt2-net", "os-rt2-port")
        err = cloud.osc_fails("floating", "ip", "create", "--port", "os-rt2-port", "public")
        public = cloud.osc("network", "show", "public")["id"]
        assert (f"External network {public} is not reachable from subnet {sub['id']}.  "
                f"Therefore, cannot associate Port {port['id']} with a Floating IP.") in err, err
        assert "NotFoundException: 404" in err, err
    finally:
        cloud.run(["openstack", "port", "delete", "os-rt2-port"], expect_ok=False)
        cloud.run(["openstack", "router", "remove", "subnet", "os-rt2", "os-rt2-sub"], expect_ok=False)
        cloud.run(["openstack", "router", "delete", "os-rt2"], expect_ok=False)
        cloud.run(["openstack", "network", "delete", "os-rt2-net"], expect_ok=False)
