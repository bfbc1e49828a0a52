"""Keystone login, the catalog, version documents and microversion plumbing."""

import requests


def test_admin_logs_in_as_admin_in_project_admin_with_only_the_password(cloud):
    out = cloud.osc("token", "issue", cloud="admin")
    assert out["project_id"] == cloud.token("admin", "admin", "admin-secret-pw")[1]["project"]["id"]
    assert out["user_id"]
    # The Keystone token is a nicplane token: the native API takes it too.
    r = cloud.native("GET", "/auth/whoami", token=out["id"])
    assert r.status_code == 200, r.text
    assert r.json()["user"]["name"] == "admin"


def test_token_body_catalog_and_roles(cloud):
    token, body = cloud.token()
    assert body["user"]["name"] == "alice" and body["user"]["domain"]["id"] == "default"
    assert body["project"]["name"] == "demo"
    assert body["expires_at"].endswith("Z")
    assert sorted(r["name"] for r in body["roles"]) == ["admin", "member", "reader"]
    types = {s["type"]: s for s in body["catalog"]}
    assert types["compute"]["endpoints"][0]["url"] == cloud.base + "/compute/v2.1"
    assert types["network"]["endpoints"][0]["url"] == cloud.base + "/network"
    assert types["identity"]["endpoints"][0]["url"] == cloud.base + "/identity"
    for s in body["catalog"]:
        ep = s["endpoints"][0]
        assert ep["interface"] == "public" and ep["region"] == ep["region_id"] == "RegionOne"
    carol = cloud.token("carol", "demo")[1]
    assert [r["name"] for r in carol["roles"]] == ["reader"]
    bob = cloud.token("bob", "demo")[1]
    assert sorted(r["name"] for r in bob["roles"]) == ["member", "reader"]
    # The same token lists the project's VMs on the native API.
    r = cloud.native("GET", f"/projects/{body['project']['id']}/vms", token=token)
    assert r.status_code == 200 and {v["name"] for v in r.json()["items"]} >= {"web-1", "db-1", "win-1"}


def test_login_by_ids(cloud):
    _, body = cloud.token()
    r = requests.post(cloud.base + "/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": body["user"]["id"], "password": "demo-password"}}},
        "scope": {"project": {"id": body["project"]["id"]}}}})
    assert r.status_code == 201 and r.headers["X-Subject-Token"]
    # The token is alice's, scoped to demo: in the body and for the native API.
    issued = r.json()["token"]
    assert issued["user"]["name"] == "alice" and issued["user"]["id"] == body["user"]["id"]
    assert issued["project"]["id"] == body["project"]["id"] and issued["project"]["name"] == "demo"
    who = cloud.native("GET", "/auth/whoami", token=r.headers["X-Subject-Token"])
    assert who.status_code == 200 and who.json()["user"]["name"] == "alice", who.text


def test_wrong_password_is_401_with_www_authenticate(cloud):
    r = requests.post(cloud.base + "/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"name": "Default"}, "password": "nope"}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == f'Keystone uri="{cloud.base}/identity"'
    assert r.json()["error"]["code"] == 401
    err = cloud.osc_fails("--os-password", "nope", "server", "list")
    assert "(HTTP 401)" in err
    # No token on compute: 401 in Nova's envelope.
    r = requests.get(cloud.base + "/compute/v2.1/servers")
    assert r.status_code == 401 and "unauthorized" in r.json()
    assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_version_documents(cloud):
    r = requests.get(cloud.base + "/identity/", allow_redirects=False)
    assert r.status_code == 300 and r.json()["versions"]["values"][0]["id"].startswith("v3")
    assert requests.get(cloud.base + "/identity/v3").json()["version"]["status"] == "stable"
    v = requests.get(cloud.base + "/compute/v2.1").json()["version"]
    assert v["min_version"] == "2.1" and int(v["version"].split(".")[1]) >= 70
    assert requests.get(cloud.base + "/compute/").json()["versions"][0]["id"] == "v2.1"
    n = requests.get(cloud.base + "/network/").json()["versions"][0]
    assert n["id"] == "v2.0" and n["status"] == "CURRENT"


def test_microversion_headers_and_negotiation(cloud):
    for headers, want in [({}, "2.1"), ({"X-OpenStack-Nova-API-Version": "2.49"}, "2.49"),
                          ({"OpenStack-API-Version": "compute 2.70", "X-OpenStack-Nova-API-Version": "2.3"}, "2.70")]:
        r = cloud.req("GET", "/compute/v2.1/servers", headers=headers)
        assert r.status_code == 200
        assert r.headers["X-OpenStack-Nova-API-Version"] == want
        assert r.headers["OpenStack-API-Version"] == "compute " + want
        assert "OpenStack-API-Version" in r.headers["Vary"] and "X-OpenStack-Nova-API-Version" in r.headers["Vary"]
        assert r.headers["x-openstack-request-id"].startswith("req-")
    latest = cloud.req("GET", "/compute/v2.1/servers", headers={"OpenStack-API-Version": "compute latest"})
    max_v = requests.get(cloud.base + "/compute/v2.1").json()["version"]["version"]
    assert latest.headers["X-OpenStack-Nova-API-Version"] == max_v
    r = cloud.req("GET", "/compute/v2.1/servers", headers={"X-OpenStack-Nova-API-Version": "2.999"})
    assert r.status_code == 406 and "is not supported by the API" in r.json()["computeFault"]["message"]
    assert "x-openstack-request-id" in r.headers and "X-OpenStack-Nova-API-Version" in r.headers
    r = cloud.req("GET", "/compute/v2.1/servers", headers={"X-OpenStack-Nova-API-Version": "two"})
    assert r.status_code == 400 and "badRequest" in r.json()
    # With the project id segment, and a wrong one.
    pid = cloud.project_id()
    assert cloud.req("GET", f"/compute/v2.1/{pid}/servers").status_code == 200
    r = cloud.req("GET", f"/compute/v2.1/{'0' * 32}/servers")
    assert r.status_code == 400 and "doesn't match" in r.json()["badRequest"]["message"]
    r = cloud.req("GET", "/compute/v2.1/servers/not-a-server")
    assert r.status_code == 404 and r.json()["itemNotFound"]["message"] == "Instance not-a-server could not be found."
