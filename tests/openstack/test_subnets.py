"""Neutron's subnet model through the real `openstack` CLI (issue 12):
several subnets of either version on one network, overlap refused, SLAAC
addresses from the MAC, and `openstack subnet set/unset`."""

import pytest

NEUTRON = "/network/v2.0"


def test_several_subnets_per_network_and_overlap_refused(cloud):
    net = cloud.osc("network", "create", "multi-net")
    a = cloud.osc("subnet", "create", "--network", "multi-net", "--subnet-range", "10.61.0.0/30", "multi-a")
    b = cloud.osc("subnet", "create", "--network", "multi-net", "--subnet-range", "10.62.0.0/24", "multi-b")
    v6 = cloud.osc("subnet", "create", "--network", "multi-net", "--ip-version", "6", "--subnet-range",
                   "fd00:61::/64", "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", "multi-v6")
    assert (v6["ipv6_ra_mode"], v6["ipv6_address_mode"]) == ("slaac", "slaac")
    err = cloud.osc_fails("subnet", "create", "--network", "multi-net", "--subnet-range", "10.62.0.128/25", "multi-c")
    assert (f"Invalid input for operation: Requested subnet with cidr: 10.62.0.128/25 for network: "
            f"{net['id']} overlaps with another subnet.") in err
    assert sorted(cloud.osc("network", "show", "multi-net")["subnets"]) == sorted([a["id"], b["id"], v6["id"]])
    # The /30 has room for one port; the next takes the second IPv4 subnet.
    # Every port also gets its EUI-64 address on the SLAAC subnet.
    first = cloud.osc("port", "create", "--network", "multi-net", "--mac-address", "fa:16:3e:00:00:01", "multi-p1")
    second = cloud.osc("port", "create", "--network", "multi-net", "--mac-address", "fa:16:3e:00:00:02", "multi-p2")
    assert [(f["subnet_id"], f["ip_address"]) for f in first["fixed_ips"]] == [
        (a["id"], "10.61.0.2"), (v6["id"], "fd00:61::f816:3eff:fe00:1")]
    assert [(f["subnet_id"], f["ip_address"]) for f in second["fixed_ips"]] == [
        (b["id"], "10.62.0.2"), (v6["id"], "fd00:61::f816:3eff:fe00:2")]
    # Deleting the SLAAC subnet removes the computed addresses.
    cloud.osc_ok("subnet", "delete", "multi-v6")
    assert [f["ip_address"] for f in cloud.osc("port", "show", "multi-p1")["fixed_ips"]] == ["10.61.0.2"]
    for p in ("multi-p1", "multi-p2"):
        cloud.osc_ok("port", "delete", p)
    cloud.osc_ok("network", "delete", "multi-net")


def test_subnet_set_and_unset(cloud):
    cloud.osc("network", "create", "set-net")
    s = cloud.osc("subnet", "create", "--network", "set-net", "--subnet-range", "10.63.0.0/24",
                  "--dns-nameserver", "8.8.8.8", "set-sub")
    assert s["dns_nameservers"] == ["8.8.8.8"]
    cloud.osc_ok("subnet", "set", "--name", "set-sub2", "--description", "app tier", "--dns-nameserver", "1.1.1.1",
                 "--host-route", "destination=192.168.0.0/16,gateway=10.63.0.254", "--no-dhcp",
                 "--gateway", "10.63.0.1", "set-sub")
    shown = cloud.osc("subnet", "show", "set-sub2")
    assert shown["description"] == "app tier"
    assert sorted(shown["dns_nameservers"]) == ["1.1.1.1", "8.8.8.8"]
    assert shown["host_routes"] == [{"destination": "192.168.0.0/16", "nexthop": "10.63.0.254"}]
    assert shown["enable_dhcp"] is False
    cloud.osc_ok("subnet", "unset", "--dns-nameserver", "8.8.8.8",
                 "--host-route", "destination=192.168.0.0/16,gateway=10.63.0.254", "set-sub2")
    shown = cloud.osc("subnet", "show", "set-sub2")
    assert (shown["dns_nameservers"], shown["host_routes"]) == (["1.1.1.1"], [])
    cloud.osc_ok("subnet", "set", "--gateway", "none", "set-sub2")
    assert cloud.osc("subnet", "show", "set-sub2")["gateway_ip"] is None
    err = cloud.osc_fails("subnet", "set", "--dns-nameserver", "1.1.1.1", "set-sub2")
    assert "Invalid input for dns_nameservers. Reason: Duplicate nameserver '1.1.1.1'." in err
    cloud.osc_ok("network", "delete", "set-net")
