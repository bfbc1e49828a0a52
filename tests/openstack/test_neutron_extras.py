"""Issue 15's Neutron and Nova additions through the real clients: a floating
IP at a chosen address (`openstack floating ip create --floating-ip-address`,
the cloud admin only), port tags (`openstack port set --tag`, `openstack port
list --tags`), `revision_number` with a stale `If-Match` refused (openstacksdk's
`if_revision`), and flavors the cloud admin creates and deletes (`openstack
flavor create/delete`)."""

import openstack
import pytest
from openstack import exceptions as sdk_exc

from conftest import NEUTRON


def test_floating_ip_at_a_chosen_address_is_for_the_cloud_admin(cloud):
    err = cloud.osc_fails("floating", "ip", "create", "--floating-ip-address", "203.0.113.240", "public")
    assert ("Only the cloud admin can choose the address of a floating IP "
            "(rule:create_floatingip:floating_ip_address is disallowed by policy).") in err, err
    assert "ForbiddenException: 403" in err, err

    fip = cloud.osc("floating", "ip", "create", "--floating-ip-address", "203.0.113.240", "public", cloud="admin")
    try:
        assert fip["floating_ip_address"] == "203.0.113.240"
        err = cloud.osc_fails("floating", "ip", "create", "--floating-ip-address", "203.0.113.240", "public",
                              cloud="admin")
        pool = cloud.osc("subnet", "list", "--network", "public", cloud="admin")[0]["ID"]
        assert f"IP address 203.0.113.240 already allocated in subnet {pool}" in err, err
        assert "ConflictException: 409" in err, err
        err = cloud.osc_fails("floating", "ip", "create", "--floating-ip-address", "10.99.0.1", "public",
                              cloud="admin")
        assert ("IP address 10.99.0.1 is not a valid IP for any of the subnets on the specified network."
                in err), err
    finally:
        cloud.osc_ok("floating", "ip", "delete", fip["id"], cloud="admin")


def test_port_details_on_a_floating_ip(cloud):
    port = cloud.osc("port", "create", "--network", "db-net", "os-details-port")
    fip = cloud.osc("floating", "ip", "create", "--port", "os-details-port", "public")
    try:
        details = cloud.req("GET", f"{NEUTRON}/floatingips/{fip['id']}").json()["floatingip"]["port_details"]
        assert details == {"name": "os-details-port", "network_id": port["network_id"],
                           "mac_address": port["mac_address"], "admin_state_up": True,
                           "status": port["status"], "device_id": "", "device_owner": ""}
    finally:
        cloud.osc_ok("floating", "ip", "delete", fip["id"])
        cloud.osc_ok("port", "delete", "os-details-port")


def test_port_tags_through_the_cli(cloud):
    cloud.osc("port", "create", "--network", "db-net", "os-tag-a")
    cloud.osc("port", "create", "--network", "db-net", "os-tag-b")
    try:
        cloud.osc_ok("port", "set", "--tag", "blue", "--tag", "green", "os-tag-a")
        cloud.osc_ok("port", "set", "--tag", "blue", "os-tag-b")
        assert sorted(cloud.osc("port", "show", "os-tag-a")["tags"]) == ["blue", "green"]
        names = lambda *f: sorted(p["Name"] for p in cloud.osc("port", "list", *f))
        assert names("--tags", "blue") == ["os-tag-a", "os-tag-b"]
        assert names("--tags", "blue,green") == ["os-tag-a"]
        assert "os-tag-a" not in names("--not-tags", "green")
        cloud.osc_ok("port", "unset", "--tag", "green", "os-tag-a")
        assert cloud.osc("port", "show", "os-tag-a")["tags"] == ["blue"]
    finally:
        cloud.osc_ok("port", "delete", "os-tag-a", "os-tag-b")


def test_stale_if_match_is_refused(cloud):
    conn = openstack.connect(cloud="alice")
    port = conn.network.create_port(network_id=conn.network.find_network("db-net").id, name="os-rev")
    try:
        assert port.revision_number == 1
        # By id each time: openstacksdk sends `if_revision` once per resource object.
        renamed = conn.network.update_port(port.id, name="os-rev-2", if_revision=1)
        assert renamed.revision_number == 2
        with pytest.raises(sdk_exc.HttpException) as e:
            conn.network.update_port(port.id, name="os-rev-3", if_revision=1)
        assert e.value.status_code == 412
        assert "Constrained to 1, but current revision is 2" in str(e.value)
        assert conn.network.get_port(port.id).name == "os-rev-2"
        with pytest.raises(sdk_exc.HttpException) as e:
            conn.network.delete_port(port.id, if_revision=1)
        assert e.value.status_code == 412
    finally:
        conn.network.delete_port(port.id)


def test_flavors_are_created_and_deleted_by_the_cloud_admin(cloud):
    err = cloud.osc_fails("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "os-flavor")
    assert "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed." in err, err
    f = cloud.osc("flavor", "create", "--ram", "512", "--vcpus", "2", "--disk", "5", "--id", "os-f1", "os-flavor",
                  cloud="admin")
    assert (f["id"], f["name"], f["ram"], f["vcpus"], f["disk"]) == ("os-f1", "os-flavor", 512, 2, 5)
    assert "os-flavor" in [x["Name"] for x in cloud.osc("flavor", "list")]
    assert cloud.osc("flavor", "show", "os-flavor")["vcpus"] == 2
    err = cloud.osc_fails("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "os-flavor",
                          cloud="admin")
    assert "Flavor with name os-flavor already exists." in err, err
    err = cloud.osc_fails("flavor", "delete", "os-flavor")
    assert "Policy doesn't allow os_compute_api:os-flavor-manage:delete to be performed." in err, err
    cloud.osc_ok("flavor", "delete", "os-flavor", cloud="admin")
    assert "os-flavor" not in [x["Name"] for x in cloud.osc("flavor", "list")]
