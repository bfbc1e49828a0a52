"""A disabled or deleted user's AK/SK credentials stop working at once, and
work again when the user is re-enabled (issue 9, point 5)."""

import uuid

from huaweicloudsdkvpc.v3 import ListSubNetworkInterfacesRequest

from conftest import Native, expect_error

PASSWORD = "hw-user-password"


def test_a_disabled_users_access_keys_stop_working_at_once(cloud):
    name = f"hw-{uuid.uuid4().hex[:8]}"
    user = cloud.admin.ok("POST", "/v1/users", json={"name": name, "password": PASSWORD})
    cloud.admin.ok("PUT", f"/v1/projects/{cloud.project}/members/{user['id']}", json={"role": "reader"})
    me = Native(cloud.url, name, PASSWORD)
    cred = me.ok("POST", f"/v1/users/{user['id']}/credentials", json={})
    client = cloud.vpc_client(ak=cred["access"], sk=cred["secret"])
    client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest())

    cloud.admin.ok("PATCH", f"/v1/users/{user['id']}", json={"enabled": False})
    e = expect_error(lambda: client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")
    assert f"The user {name} is disabled." in e.error_msg

    cloud.admin.ok("PATCH", f"/v1/users/{user['id']}", json={"enabled": True})
    client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest())

    r = cloud.admin.req("DELETE", f"/v1/users/{user['id']}")
    assert r.status_code == 204, r.text
    expect_error(lambda: client.list_sub_network_interfaces(ListSubNetworkInterfacesRequest()), 401, "APIG.0301")
