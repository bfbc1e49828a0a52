"""Projects through Keystone with the real `openstack` client (create, set,
delete, and the refusals of a delete) and Nova's hypervisors, which are
nicplane's hosts (issue 12)."""

import re

from conftest import ok


def test_project_create_set_delete_with_the_openstack_client(cloud):
    created = cloud.osc("project", "create", "--description", "made by osc", "osc-proj", cloud="admin")
    assert created["name"] == "osc-proj"
    assert created["description"] == "made by osc"
    assert created["domain_id"] == "default"
    assert created["enabled"] is True
    cloud.osc_ok("project", "set", "--description", "changed", "osc-proj", cloud="admin")
    assert cloud.osc("project", "show", "osc-proj", cloud="admin")["description"] == "changed"
    # The same project natively.
    listed = ok(cloud.native("GET", "/projects", token=cloud.admin_token()), 200)
    assert created["id"] in [p["id"] for p in listed]

    cloud.osc_ok("project", "delete", "osc-proj", cloud="admin")
    assert "osc-proj" not in [p["Name"] for p in cloud.osc("project", "list", cloud="admin")]
    assert created["id"] not in [p["id"] for p in ok(cloud.native("GET", "/projects", token=cloud.admin_token()), 200)]


def test_a_project_with_servers_or_the_admin_project_is_not_deleted(cloud):
    # demo (alice's project) holds the demo VMs (how many depends on what
    # other tests of the session made there).
    err = cloud.osc_fails("project", "delete", "demo", cloud="admin")
    assert re.search(r"ConflictException: 409: Client Error for url: \S+/identity/v3/projects/[0-9a-f]{32}, "
                     r"Project demo still has \d+ VMs?, \d+ network interfaces?(, [^;]+)?; delete them first\.\n",
                     err), err
    err = cloud.osc_fails("project", "delete", "admin", cloud="admin")
    assert "Project admin is the cloud admin's project; it cannot be deleted.\n" in err, err
    # A member cannot create projects.
    err = cloud.osc_fails("project", "create", "alice-proj", cloud="alice")
    assert err.endswith("/identity/v3/projects, Only the cloud admin can manage data centers, "
                        "public IP pools, projects, users and shared networks.\n"), err


def test_hypervisor_list_shows_the_hosts_to_the_cloud_admin(cloud):
    token = cloud.admin_token()
    dc = ok(cloud.native("GET", "/data-centers", token=token), 200)[0]["id"]
    ok(cloud.native("POST", "/hosts", token=token, json={"name": "osc-hv1", "data_center_id": dc}), 201)
    rows = cloud.osc("hypervisor", "list", cloud="admin")
    row = next(r for r in rows if r["Hypervisor Hostname"] == "osc-hv1")
    assert row["State"] == "down"
    err = cloud.osc_fails("hypervisor", "list", cloud="alice")
    # `openstack hypervisor list` reads the detail.
    assert err.endswith("/compute/v2.1/os-hypervisors/detail, "
                        "Policy doesn't allow os_compute_api:os-hypervisors:list-detail to be performed.\n"), err
