"""Issue 10's role matrix for the OpenStack dialect: every write route of
Neutron, Nova and Keystone, tried by a Tenant Reader (carol), a Tenant Power
User (bob, Keystone roles `member`+`reader`) and a Tenant Administrator
(alice, `admin`+`member`+`reader`) of the demo project.

* A Reader is refused every write: Neutron's 403 `PolicyNotAuthorized`, Nova's
  403 `forbidden`, Keystone's 403, with nicplane's exact words, and the
  project is unchanged (`project_state`).
* What nicplane reserves for the Tenant Administrator (managing the project's
  networks and subnets) refuses a Power User the same way, and the Tenant
  Administrator does it; every other write (the console guide's interface and
  public IP actions, ports, security groups, trunks, servers) a Power User
  does.
* Quotas, users, flavors and a floating IP's chosen address are the cloud
  admin's: refused to all three roles.

Objects each case needs are made by alice just before it (`Prep`) and
removed after it, so every case is independent."""

import pytest

from conftest import NEUTRON, NOVA, READ_ONLY, neutron_error, nova_fault, ok, project_state

ADMIN_ONLY = "The {role} role cannot do this; it needs the Tenant Administrator role."
CLOUD_ADMIN_ONLY = "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks."
FIP_ADDRESS = ("Only the cloud admin can choose the address of a floating IP "
               "(rule:create_floatingip:floating_ip_address is disallowed by policy).")
TITLES = {"carol": "Tenant Reader", "bob": "Tenant Power User", "alice": "Tenant Administrator"}

# Who may do what: "write" = Tenant Administrator and Power User; "admin" =
# Tenant Administrator only; "quota-update"/"quota-delete"/"users" = cloud admin only.
WRITE, ADMIN = "write", "admin"


class Prep:
    """Objects made by alice for one case, deleted afterwards (newest first)."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.made = []
        self.values = {}
        self.values["db"] = ok(cloud.req("GET", f"{NEUTRON}/networks?name=db-net"), 200)["networks"][0]["id"]
        self.values["project_id"] = cloud.project_id()

    def post(self, path, key, body, status=201):
        obj = ok(self.cloud.req("POST", path, json={key: body}), status)[key]
        self.made.append(f"{path}/{obj['id']}")
        return obj["id"]

    def network(self):
        self.values["net"] = self.post(f"{NEUTRON}/networks", "network", {"name": "mx-r-net"})

    def subnet(self):
        self.network()
        self.values["subnet"] = self.post(f"{NEUTRON}/subnets", "subnet", {
            "network_id": self.values["net"], "cidr": "10.95.0.0/24", "ip_version": 4})

    def port(self, key="port"):
        self.values[key] = self.post(f"{NEUTRON}/ports", "port",
                                     {"network_id": self.values["db"], "name": f"mx-r-{key}", "tags": ["t1"]})

    def external(self):
        nets = ok(self.cloud.req("GET", f"{NEUTRON}/networks?router:external=true"), 200)["networks"]
        self.values["external"] = nets[0]["id"]

    def fip(self):
        self.external()
        self.values["fip"] = self.post(f"{NEUTRON}/floatingips", "floatingip",
                                       {"floating_network_id": self.values["external"]})

    def sg(self):
        self.values["sg"] = self.post(f"{NEUTRON}/security-groups", "security_group", {"name": "mx-r-sg"})

    def rule(self):
        self.sg()
        self.values["rule"] = self.post(f"{NEUTRON}/security-group-rules", "security_group_rule", {
            "security_group_id": self.values["sg"], "direction": "ingress", "protocol": "udp"})

    def trunk(self, with_subport=False):
        self.port("parent")
        body = {"port_id": self.values["parent"], "name": "mx-r-trunk"}
        if with_subport:
            self.port("subport")
            body["sub_ports"] = [{"port_id": self.values["subport"], "segmentation_type": "vlan",
                                  "segmentation_id": 20}]
        self.values["trunk"] = self.post(f"{NEUTRON}/trunks", "trunk", body)

    def server(self, stopped=False, second_interface=False):
        self.values["server"] = self.post(f"{NOVA}/servers", "server",
                                          {"name": "mx-r-srv", "imageRef": "cirros", "flavorRef": "1"}, 202)
        sid = self.values["server"]
        if stopped:
            assert self.cloud.req("POST", f"{NOVA}/servers/{sid}/action", json={"os-stop": None}).status_code == 202
        if second_interface:
            att = ok(self.cloud.req("POST", f"{NOVA}/servers/{sid}/os-interface",
                                    json={"interfaceAttachment": {"net_id": self.values["db"]}}), 200)
            self.values["port"] = att["interfaceAttachment"]["port_id"]

    def router(self, with_subnet=False):
        self.values["router"] = self.post(f"{NEUTRON}/routers", "router", {"name": "mx-r-router"})
        if with_subnet:
            self.subnet()
            ok(self.cloud.req("PUT", f"{NEUTRON}/routers/{self.values['router']}/add_router_interface",
                              json={"subnet_id": self.values["subnet"]}), 200)

    def user(self):
        admin = self.cloud.admin_token()
        u = ok(self.cloud.native("POST", "/users", token=admin,
                                 json={"name": f"mx-r-user-{len(self.made)}", "password": "mx-r-password"}), 201)
        self.values["user"] = u["id"]
        self.made.append(("native", f"/users/{u['id']}"))

    def cleanup(self):
        # Whatever the case left behind (or the allowed write made) goes:
        # trunks first (their subports become plain ports), then servers,
        # floating IPs, rules, ports, groups, subnets, networks, users;
        # newest first within each kind.
        order = ["/trunks/", "/servers/", "/floatingips/", "/routers/", "/security-group-rules/", "/ports/",
                 "/security-groups/", "/subnets/", "/networks/", "/users/"]

        def rank(path):
            text = path[1] if isinstance(path, tuple) else path
            return next(i for i, k in enumerate(order) if k in text)
        made = list(reversed(self.made))
        for path in sorted(made, key=rank):
            if isinstance(path, str) and "/routers/" in path:
                # A router goes after its interfaces (their ports go with them).
                rid = path.rsplit("/", 1)[1]
                ports = self.cloud.req("GET", f"{NEUTRON}/ports?device_id={rid}").json().get("ports", [])
                for port in ports:
                    self.cloud.req("PUT", f"{NEUTRON}/routers/{rid}/remove_router_interface",
                                   json={"port_id": port["id"]})
            if isinstance(path, tuple):
                r = self.cloud.native("DELETE", path[1], token=self.cloud.admin_token())
            else:
                r = self.cloud.req("DELETE", path)
            assert r.status_code in (202, 204, 404), (path, r.status_code, r.text)


def none(p):
    pass


# (case id, method, path, body, prepare, who may, status when allowed)
ROUTES = [
    ("network-create", "POST", "/networks", {"network": {"name": "mx-r-new-net"}}, none, ADMIN, 201),
    ("network-update", "PUT", "/networks/{net}", {"network": {"name": "mx-r-renamed"}}, Prep.network, ADMIN, 200),
    ("network-delete", "DELETE", "/networks/{net}", None, Prep.network, ADMIN, 204),
    ("subnet-create", "POST", "/subnets",
     {"subnet": {"network_id": "{net}", "cidr": "10.96.0.0/24", "ip_version": 4}}, Prep.network, ADMIN, 201),
    ("subnet-delete", "DELETE", "/subnets/{subnet}", None, Prep.subnet, ADMIN, 204),
    ("network-tag-add", "PUT", "/networks/{net}/tags/t2", None, Prep.network, ADMIN, 201),
    ("subnet-tags-replace", "PUT", "/subnets/{subnet}/tags", {"tags": ["t2"]}, Prep.subnet, ADMIN, 200),
    ("security-group-tag-add", "PUT", "/security-groups/{sg}/tags/t2", None, Prep.sg, WRITE, 201),
    ("floatingip-tags-replace", "PUT", "/floatingips/{fip}/tags", {"tags": ["t2"]}, Prep.fip, WRITE, 200),
    ("trunk-tag-add", "PUT", "/trunks/{trunk}/tags/t2", None, Prep.trunk, WRITE, 201),
    ("port-create", "POST", "/ports", {"port": {"network_id": "{db}", "name": "mx-r-new-port"}}, none, WRITE, 201),
    ("port-bulk-create", "POST", "/ports", {"ports": [{"network_id": "{db}", "name": "mx-r-new-port"},
                                                      {"network_id": "{db}", "name": "mx-r-new-port"}]},
     none, WRITE, 201),
    ("port-update", "PUT", "/ports/{port}", {"port": {"name": "mx-r-renamed"}}, Prep.port, WRITE, 200),
    ("port-delete", "DELETE", "/ports/{port}", None, Prep.port, WRITE, 204),
    ("port-tags-replace", "PUT", "/ports/{port}/tags", {"tags": ["t2"]}, Prep.port, WRITE, 200),
    ("port-tags-clear", "DELETE", "/ports/{port}/tags", None, Prep.port, WRITE, 204),
    ("port-tag-add", "PUT", "/ports/{port}/tags/t2", None, Prep.port, WRITE, 201),
    ("port-tag-remove", "DELETE", "/ports/{port}/tags/t1", None, Prep.port, WRITE, 204),
    ("floatingip-create", "POST", "/floatingips", {"floatingip": {"floating_network_id": "{external}"}},
     Prep.external, WRITE, 201),
    # Choosing the address is the cloud admin's (Neutron's policy), whatever the tenant role.
    ("floatingip-create-address", "POST", "/floatingips", {"floatingip": {
        "floating_network_id": "{external}", "floating_ip_address": "203.0.113.241"}},
     Prep.external, "fip-address", None),
    ("floatingip-associate", "PUT", "/floatingips/{fip}", {"floatingip": {"port_id": "{port}"}},
     lambda p: (p.fip(), p.port()), WRITE, 200),
    ("floatingip-delete", "DELETE", "/floatingips/{fip}", None, Prep.fip, WRITE, 204),
    ("security-group-create", "POST", "/security-groups", {"security_group": {"name": "mx-r-new-sg"}},
     none, WRITE, 201),
    ("security-group-update", "PUT", "/security-groups/{sg}", {"security_group": {"name": "mx-r-renamed"}},
     Prep.sg, WRITE, 200),
    ("security-group-delete", "DELETE", "/security-groups/{sg}", None, Prep.sg, WRITE, 204),
    ("security-group-rule-create", "POST", "/security-group-rules", {"security_group_rule": {
        "security_group_id": "{sg}", "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 80}}, Prep.sg, WRITE, 201),
    ("security-group-rule-delete", "DELETE", "/security-group-rules/{rule}", None, Prep.rule, WRITE, 204),
    ("trunk-create", "POST", "/trunks", {"trunk": {"port_id": "{port}", "name": "mx-r-new-trunk"}},
     Prep.port, WRITE, 201),
    ("trunk-update", "PUT", "/trunks/{trunk}", {"trunk": {"name": "mx-r-renamed"}}, Prep.trunk, WRITE, 200),
    ("trunk-delete", "DELETE", "/trunks/{trunk}", None, Prep.trunk, WRITE, 204),
    ("trunk-add-subports", "PUT", "/trunks/{trunk}/add_subports", {"sub_ports": [
        {"port_id": "{port}", "segmentation_type": "vlan", "segmentation_id": 21}]},
     lambda p: (p.trunk(), p.port()), WRITE, 200),
    ("trunk-remove-subports", "PUT", "/trunks/{trunk}/remove_subports", {"sub_ports": [{"port_id": "{subport}"}]},
     lambda p: p.trunk(with_subport=True), WRITE, 200),
    ("router-create", "POST", "/routers", {"router": {"name": "mx-r-new-router"}}, none, ADMIN, 201),
    ("router-update", "PUT", "/routers/{router}", {"router": {"name": "mx-r-renamed"}}, Prep.router, ADMIN, 200),
    ("router-delete", "DELETE", "/routers/{router}", None, Prep.router, ADMIN, 204),
    ("router-add-interface", "PUT", "/routers/{router}/add_router_interface", {"subnet_id": "{subnet}"},
     lambda p: (p.router(), p.subnet()), ADMIN, 200),
    ("router-remove-interface", "PUT", "/routers/{router}/remove_router_interface", {"subnet_id": "{subnet}"},
     lambda p: p.router(with_subnet=True), ADMIN, 200),
    ("quota-update", "PUT", "/quotas/{project_id}", {"quota": {"port": 1000}}, none, "quota-update", None),
    ("quota-reset", "DELETE", "/quotas/{project_id}", None, none, "quota-delete", None),
    ("flavor-create", "POST", "/flavors", {"flavor": {"name": "mx-r-flavor", "ram": 1, "vcpus": 1, "disk": 0}},
     none, "flavor-create", None),
    ("flavor-delete", "DELETE", "/flavors/1", None, none, "flavor-delete", None),
    ("server-create", "POST", "/servers", {"server": {"name": "mx-r-new-srv", "imageRef": "cirros",
                                                      "flavorRef": "1"}}, none, WRITE, 202),
    ("server-update", "PUT", "/servers/{server}", {"server": {"name": "mx-r-renamed"}}, Prep.server, WRITE, 200),
    ("server-delete", "DELETE", "/servers/{server}", None, Prep.server, WRITE, 204),
    ("server-stop", "POST", "/servers/{server}/action", {"os-stop": None}, Prep.server, WRITE, 202),
    ("server-start", "POST", "/servers/{server}/action", {"os-start": None},
     lambda p: p.server(stopped=True), WRITE, 202),
    ("os-interface-attach", "POST", "/servers/{server}/os-interface", {"interfaceAttachment": {"net_id": "{db}"}},
     Prep.server, WRITE, 200),
    ("os-interface-detach", "DELETE", "/servers/{server}/os-interface/{port}", None,
     lambda p: p.server(second_interface=True), WRITE, 202),
    ("keystone-user-create", "POST", "/identity/v3/users", {"user": {"name": "mx-r-made", "password": "mx-r-password"}},
     none, "users", None),
    ("keystone-user-update", "PATCH", "/identity/v3/users/{user}", {"user": {"enabled": False}},
     Prep.user, "users", None),
    ("keystone-user-delete", "DELETE", "/identity/v3/users/{user}", None, Prep.user, "users", None),
    ("keystone-user-password", "POST", "/identity/v3/users/{user}/password",
     {"user": {"password": "mx-r-new-password", "original_password": "mx-r-password"}}, Prep.user, "users-password",
     None),
]


def fill(template, values):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [fill(t, values) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def url_of(path):
    if path.startswith("/identity"):
        return path
    return (NOVA if path.startswith(("/servers", "/flavors")) else NEUTRON) + path


def expect_refusal(r, user, path, need, values):
    """The exact refusal of `need` for `user`."""
    if need == "users":
        assert r.status_code == 403, r.text
        assert r.json() == {"error": {"code": 403, "message": CLOUD_ADMIN_ONLY, "title": "Forbidden"}}
        return
    if need == "users-password":
        # Another user's password: Keystone's "not found", whoever asks.
        assert r.status_code == 404, r.text
        assert r.json() == {"error": {"code": 404, "message": f"User {values['user']} could not be found.",
                                      "title": "Not Found"}}
        return
    if need in ("flavor-create", "flavor-delete"):
        action = need.split("-")[1]
        nova_fault(r, 403, "forbidden",
                   f"Policy doesn't allow os_compute_api:os-flavor-manage:{action} to be performed.")
        return
    if need == "fip-address" and user != "carol":
        neutron_error(r, 403, "PolicyNotAuthorized", FIP_ADDRESS)
        return
    if need == "quota-update":
        message = "rule:update_quota is disallowed by policy"
    elif need == "quota-delete":
        message = "rule:delete_quota is disallowed by policy"
    elif need == ADMIN:
        message = ADMIN_ONLY.format(role=TITLES[user])
    else:
        message = READ_ONLY
    if path.startswith("/servers"):
        nova_fault(r, 403, "forbidden", message)
    else:
        neutron_error(r, 403, "PolicyNotAuthorized", message)


def state(cloud):
    """The demo project as alice sees it, its network quotas, and the users
    as the cloud admin sees them."""
    quotas = ok(cloud.req("GET", f"{NEUTRON}/quotas/{cloud.project_id()}"), 200)
    users = ok(cloud.req("GET", "/identity/v3/users", token=cloud.admin_token()), 200)["users"]
    return project_state(cloud, cloud.token()[0]), quotas, sorted(users, key=lambda u: u["id"])


def allowed(user, need):
    return need == WRITE and user in ("alice", "bob") or need == ADMIN and user == "alice"


# Every route for every role: (user, route) pairs; the Tenant Administrator's
# plain writes are what the rest of the suite does, so only the routes that
# differ by role are repeated for alice.
CASES = [pytest.param(user, *route[1:], id=f"{user}-{route[0]}")
         for user in ("carol", "bob", "alice") for route in ROUTES
         if not (user == "alice" and route[5] == WRITE)]


@pytest.mark.parametrize("user,method,path,body,prepare,need,ok_status", CASES)
def test_write_route_by_role(cloud, user, method, path, body, prepare, need, ok_status):
    token = cloud.token(user, "demo")[0]
    p = Prep(cloud)
    try:
        prepare(p)
        url = url_of(fill(path, p.values))
        kw = {} if body is None else {"json": fill(body, p.values)}
        before = state(cloud)
        if allowed(user, need):
            r = cloud.req(method, url, token=token, **kw)
            assert r.status_code == ok_status, r.text
            # The write happened: the project shows it.
            assert state(cloud) != before
            if method == "POST" and r.content:
                made = r.json()
                key = next(iter(made))
                for obj in (made[key] if isinstance(made[key], list) else [made[key]]):
                    if "id" in obj:  # an attachment goes with its server
                        p.made.append(f"{url}/{obj['id']}")
            return
        r = cloud.req(method, url, token=token, **kw)
        expect_refusal(r, user, path, need, p.values)
        assert state(cloud) == before
    finally:
        p.cleanup()


def test_reader_subnet_update_is_refused(cloud):
    p = Prep(cloud)
    try:
        p.subnet()
        carol = cloud.token("carol", "demo")[0]
        r = cloud.req("PUT", f"{NEUTRON}/subnets/{p.values['subnet']}", token=carol, json={"subnet": {}})
        neutron_error(r, 403, "PolicyNotAuthorized", ADMIN_ONLY.format(role="Tenant Reader"))
    finally:
        p.cleanup()
