"""Users and tokens through the real OpenStack client: disable/enable,
password reset and change, delete, token revocation (issue 9, point 5)."""

import requests

from conftest import ADMIN_PASSWORD


def as_user(cloud, name, password, *args):
    """Run `openstack` as `name` in project demo; returns (rc, out, err)."""
    return cloud.run(["openstack", "--os-username", name, "--os-password", password, *args],
                     cloud="alice", expect_ok=False)


def test_user_lifecycle_with_the_openstack_client(cloud):
    created = cloud.osc("user", "create", "--password", "eve-password-1", "eve", cloud="admin")
    assert created["name"] == "eve" and created["enabled"] is True
    demo = cloud.project_id()
    r = cloud.native("PUT", f"/projects/{demo}/members/{created['id']}", token=cloud.admin_token(),
                     json={"role": "power_user"})
    assert r.status_code == 200, r.text
    rc, _, err = as_user(cloud, "eve", "eve-password-1", "server", "list")
    assert rc == 0, err
    names = [u["Name"] for u in cloud.osc("user", "list", cloud="admin")]
    assert "eve" in names

    # Disable: the user can no longer log in; enable brings them back.
    cloud.osc_ok("user", "set", "--disable", "eve", cloud="admin")
    shown = cloud.osc("user", "show", "eve", cloud="admin")
    assert shown["enabled"] is False
    rc, _, err = as_user(cloud, "eve", "eve-password-1", "server", "list")
    assert rc != 0 and "The request you have made requires authentication. (HTTP 401)" in err, err
    cloud.osc_ok("user", "set", "--enable", "eve", cloud="admin")
    rc, _, err = as_user(cloud, "eve", "eve-password-1", "server", "list")
    assert rc == 0, err

    # The cloud admin resets the password; the old one stops working.
    cloud.osc_ok("user", "set", "--password", "eve-password-2", "eve", cloud="admin")
    assert as_user(cloud, "eve", "eve-password-1", "server", "list")[0] != 0
    assert as_user(cloud, "eve", "eve-password-2", "server", "list")[0] == 0

    # The user changes their own password with the original one.
    rc, _, err = as_user(cloud, "eve", "eve-password-2", "user", "password", "set",
                         "--original-password", "eve-password-2", "--password", "eve-password-3")
    assert rc == 0, err
    assert as_user(cloud, "eve", "eve-password-3", "server", "list")[0] == 0
    rc, _, err = as_user(cloud, "eve", "eve-password-3", "user", "password", "set",
                         "--original-password", "wrong-wrong", "--password", "eve-password-4")
    # Keystone answers a wrong original password 401 on the password call itself.
    assert rc != 0 and "HttpException: 401: Client Error for url:" in err, err
    assert "/password, The request you have made requires authentication." in err, err

    # Delete.
    cloud.osc_ok("user", "delete", "eve", cloud="admin")
    assert "eve" not in [u["Name"] for u in cloud.osc("user", "list", cloud="admin")]
    assert as_user(cloud, "eve", "eve-password-3", "server", "list")[0] != 0


def test_token_revoke_and_validate(cloud):
    issued = cloud.osc("token", "issue", cloud="bob")
    token = issued["id"]
    admin = cloud.admin_token()
    r = requests.get(cloud.base + "/identity/v3/auth/tokens",
                     headers={"X-Auth-Token": admin, "X-Subject-Token": token})
    assert r.status_code == 200, r.text
    assert r.json()["token"]["user"]["name"] == "bob"
    assert r.headers["X-Subject-Token"] == token
    assert requests.head(cloud.base + "/identity/v3/auth/tokens",
                         headers={"X-Auth-Token": admin, "X-Subject-Token": token}).status_code == 200
    cloud.osc_ok("token", "revoke", token, cloud="admin")
    r = requests.get(cloud.base + "/identity/v3/auth/tokens",
                     headers={"X-Auth-Token": admin, "X-Subject-Token": token})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404
    # The revoked token no longer works anywhere.
    assert requests.get(cloud.base + "/network/v2.0/ports", headers={"X-Auth-Token": token}).status_code == 401


def test_the_last_cloud_admin_cannot_be_disabled(cloud):
    err = cloud.osc_fails("user", "set", "--disable", "admin", cloud="admin")
    assert "ConflictException: 409: Client Error" in err, err
    assert "User admin is the last enabled cloud admin; it cannot be disabled or deleted." in err, err
    assert cloud.osc("user", "show", "admin", cloud="admin")["enabled"] is True
    # A password shorter than the minimum is refused with Keystone's 400.
    err = cloud.osc_fails("user", "create", "--password", "short", "tiny", cloud="admin")
    assert "BadRequestException: 400: Client Error" in err, err
    assert "Invalid value for password: must be at least 8 characters." in err, err
    assert ADMIN_PASSWORD
