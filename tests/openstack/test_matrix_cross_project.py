"""Issue 10's cross-project matrix for the OpenStack dialect: a Tenant
Administrator of project A (alice in `demo`) gets the dialect's not-found
answer for project B's objects, by id in the path and in every body field
that names another object, with exactly the words a random id gets (B's
objects do not even show up as "exists but not yours"); B's objects never
appear in A's lists, whatever the filter; and neither project changes.

Every case is one request with raw `requests` (fast); B's and A's whole state
(`project_state`) is compared before and after it."""

import uuid

import pytest

from conftest import NEUTRON, NOVA, neutron_error, nova_fault, ok, project_state


def neutron_nf(ty, label):
    return ("neutron", 404, ty, label + " {id} could not be found.")


NETWORK_NF = neutron_nf("NetworkNotFound", "Network")
SUBNET_NF = neutron_nf("SubnetNotFound", "Subnet")
PORT_NF = neutron_nf("PortNotFound", "Port")
FIP_NF = neutron_nf("FloatingIPNotFound", "Floating IP")
SG_NF = neutron_nf("SecurityGroupNotFound", "Security group")
RULE_NF = neutron_nf("SecurityGroupRuleNotFound", "Security group rule")
TRUNK_NF = neutron_nf("TrunkNotFound", "Trunk")
ROUTER_NF = neutron_nf("RouterNotFound", "Router")
INSTANCE_NF = ("nova", 404, "itemNotFound", "Instance {id} could not be found.")
QUOTA_OTHER = ("neutron", 403, "PolicyNotAuthorized", "Non-admin is not authorized to access quotas for another project")

# (case id, method, path with B's object as {id}, body, which of B's objects, expected answer)
PATH_CASES = [
    ("network-show", "GET", "/networks/{id}", None, "net", NETWORK_NF),
    ("network-update", "PUT", "/networks/{id}", {"network": {"name": "x"}}, "net", NETWORK_NF),
    ("network-delete", "DELETE", "/networks/{id}", None, "net", NETWORK_NF),
    ("subnet-show", "GET", "/subnets/{id}", None, "subnet", SUBNET_NF),
    ("subnet-update", "PUT", "/subnets/{id}", {"subnet": {"name": "x"}}, "subnet", SUBNET_NF),
    ("subnet-delete", "DELETE", "/subnets/{id}", None, "subnet", SUBNET_NF),
    ("port-show", "GET", "/ports/{id}", None, "port", PORT_NF),
    ("port-update", "PUT", "/ports/{id}", {"port": {"name": "x"}}, "port", PORT_NF),
    ("port-delete", "DELETE", "/ports/{id}", None, "port", PORT_NF),
    ("port-tags-list", "GET", "/ports/{id}/tags", None, "port", PORT_NF),
    ("port-tags-replace", "PUT", "/ports/{id}/tags", {"tags": ["x"]}, "port", PORT_NF),
    ("port-tags-clear", "DELETE", "/ports/{id}/tags", None, "port", PORT_NF),
    ("port-tag-check", "GET", "/ports/{id}/tags/b-tag", None, "port", PORT_NF),
    ("port-tag-add", "PUT", "/ports/{id}/tags/x", None, "port", PORT_NF),
    ("port-tag-remove", "DELETE", "/ports/{id}/tags/b-tag", None, "port", PORT_NF),
    ("network-tag-add", "PUT", "/networks/{id}/tags/x", None, "net", NETWORK_NF),
    ("subnet-tags-list", "GET", "/subnets/{id}/tags", None, "subnet", SUBNET_NF),
    ("security-group-tags-replace", "PUT", "/security-groups/{id}/tags", {"tags": ["x"]}, "sg", SG_NF),
    ("floatingip-tag-remove", "DELETE", "/floatingips/{id}/tags/x", None, "fip", FIP_NF),
    ("trunk-tags-clear", "DELETE", "/trunks/{id}/tags", None, "trunk", TRUNK_NF),
    ("floatingip-show", "GET", "/floatingips/{id}", None, "fip", FIP_NF),
    ("floatingip-update", "PUT", "/floatingips/{id}", {"floatingip": {"port_id": None}}, "fip", FIP_NF),
    ("floatingip-delete", "DELETE", "/floatingips/{id}", None, "fip", FIP_NF),
    ("security-group-show", "GET", "/security-groups/{id}", None, "sg", SG_NF),
    ("security-group-update", "PUT", "/security-groups/{id}", {"security_group": {"name": "x"}}, "sg", SG_NF),
    ("security-group-delete", "DELETE", "/security-groups/{id}", None, "sg", SG_NF),
    ("security-group-rule-show", "GET", "/security-group-rules/{id}", None, "rule", RULE_NF),
    ("security-group-rule-delete", "DELETE", "/security-group-rules/{id}", None, "rule", RULE_NF),
    ("trunk-show", "GET", "/trunks/{id}", None, "trunk", TRUNK_NF),
    ("router-show", "GET", "/routers/{id}", None, "router", ROUTER_NF),
    ("router-update", "PUT", "/routers/{id}", {"router": {"name": "x"}}, "router", ROUTER_NF),
    ("router-delete", "DELETE", "/routers/{id}", None, "router", ROUTER_NF),
    ("router-add-interface", "PUT", "/routers/{id}/add_router_interface", {"port_id": "{a_port}"}, "router",
     ROUTER_NF),
    ("router-remove-interface", "PUT", "/routers/{id}/remove_router_interface", {"subnet_id": "{id}"}, "router",
     ROUTER_NF),
    ("trunk-update", "PUT", "/trunks/{id}", {"trunk": {"name": "x"}}, "trunk", TRUNK_NF),
    ("trunk-delete", "DELETE", "/trunks/{id}", None, "trunk", TRUNK_NF),
    ("trunk-get-subports", "GET", "/trunks/{id}/get_subports", None, "trunk", TRUNK_NF),
    ("trunk-add-subports", "PUT", "/trunks/{id}/add_subports",
     {"sub_ports": [{"port_id": "{a_port}", "segmentation_type": "vlan", "segmentation_id": 11}]}, "trunk", TRUNK_NF),
    ("trunk-remove-subports", "PUT", "/trunks/{id}/remove_subports",
     {"sub_ports": [{"port_id": "{a_port}"}]}, "trunk", TRUNK_NF),
    ("server-show", "GET", "/servers/{id}", None, "server", INSTANCE_NF),
    ("server-update", "PUT", "/servers/{id}", {"server": {"name": "x"}}, "server", INSTANCE_NF),
    ("server-delete", "DELETE", "/servers/{id}", None, "server", INSTANCE_NF),
    ("server-stop", "POST", "/servers/{id}/action", {"os-stop": None}, "server", INSTANCE_NF),
    ("server-start", "POST", "/servers/{id}/action", {"os-start": None}, "server", INSTANCE_NF),
    ("server-ips", "GET", "/servers/{id}/ips", None, "server", INSTANCE_NF),
    ("server-ips-network", "GET", "/servers/{id}/ips/b-net", None, "server", INSTANCE_NF),
    ("os-interface-list", "GET", "/servers/{id}/os-interface", None, "server", INSTANCE_NF),
    ("os-interface-attach", "POST", "/servers/{id}/os-interface", {"interfaceAttachment": {}}, "server", INSTANCE_NF),
    ("os-interface-show", "GET", "/servers/{id}/os-interface/{server_port}", None, "server", INSTANCE_NF),
    ("os-interface-detach", "DELETE", "/servers/{id}/os-interface/{server_port}", None, "server", INSTANCE_NF),
]

# Quotas of another project: Neutron's policy answer (403), not a 404, for
# B's project and a random one alike.
QUOTA_CASES = [
    ("quota-show", "GET", "/quotas/{id}", None, "project_id", QUOTA_OTHER),
    ("quota-details", "GET", "/quotas/{id}/details", None, "project_id", QUOTA_OTHER),
    ("quota-default", "GET", "/quotas/{id}/default", None, "project_id", QUOTA_OTHER),
    ("quota-update", "PUT", "/quotas/{id}", {"quota": {"port": 1}}, "project_id",
     ("neutron", 403, "PolicyNotAuthorized", "rule:update_quota is disallowed by policy")),
    ("quota-reset", "DELETE", "/quotas/{id}", None, "project_id",
     ("neutron", 403, "PolicyNotAuthorized", "rule:delete_quota is disallowed by policy")),
    ("nova-quota-sets", "GET", "/compute/v2.1/os-quota-sets/{id}", None, "project_id",
     ("nova", 404, "itemNotFound", "Project {id} could not be found.")),
    ("nova-quota-sets-detail", "GET", "/compute/v2.1/os-quota-sets/{id}/detail", None, "project_id",
     ("nova", 404, "itemNotFound", "Project {id} could not be found.")),
    # Nova's check of a URL's project against the token's (400, in Nova's words).
    ("nova-project-url", "GET", "/compute/v2.1/{id}/servers", None, "project_id",
     ("nova", 400, "badRequest", "Malformed request URL: URL's project_id '{id}' doesn't match Context's "
                                 "project_id '{a_project}'")),
    ("keystone-project-show", "GET", "/identity/v3/projects/{id}", None, "project_id",
     ("keystone", 404, "Not Found", "Project {id} could not be found.")),
]

# Body fields naming another object: (case id, method, path on A's objects,
# body with B's object as "{id}", which of B's objects, expected answer).
# nicplane answers a foreign or missing security group, remote group or
# subnet in fixed_ips with 400 InvalidInput where Neutron answers 404
# (docs/openstack.md, "Known differences"); the words are the same for B's
# object and for an id that exists nowhere.
BODY_CASES = [
    ("port-create-network_id", "POST", "/ports", {"port": {"network_id": "{id}"}}, "net", NETWORK_NF),
    ("port-bulk-create-network_id", "POST", "/ports",
     {"ports": [{"network_id": "{a_net}", "name": "mx-bulk-ok"}, {"network_id": "{id}"}]}, "net", NETWORK_NF),
    ("port-create-fixed_ips-subnet_id", "POST", "/ports",
     {"port": {"network_id": "{a_net}", "fixed_ips": [{"subnet_id": "{id}"}]}}, "subnet",
     ("neutron", 400, "InvalidInput", "Subnet {id} is not a subnet of network db-net.")),
    ("port-create-security_groups", "POST", "/ports",
     {"port": {"network_id": "{a_net}", "security_groups": ["{id}"]}}, "sg",
     ("neutron", 400, "InvalidInput", "Security group {id} does not exist in the project.")),
    ("port-update-security_groups", "PUT", "/ports/{a_port}", {"port": {"security_groups": ["{id}"]}}, "sg",
     ("neutron", 400, "InvalidInput", "Security group {id} does not exist in the project.")),
    ("port-update-fixed_ips-subnet_id", "PUT", "/ports/{a_port}", {"port": {"fixed_ips": [{"subnet_id": "{id}"}]}},
     "subnet", ("neutron", 400, "InvalidInput", "Subnet {id} is not a subnet of network db-net.")),
    ("port-update-device_id", "PUT", "/ports/{a_port}", {"port": {"device_id": "{id}"}}, "server",
     ("neutron", 404, "DeviceNotFound", "Device {id} could not be found.")),
    ("subnet-create-network_id", "POST", "/subnets",
     {"subnet": {"network_id": "{id}", "cidr": "10.91.0.0/24", "ip_version": 4}}, "net", NETWORK_NF),
    ("rule-create-security_group_id", "POST", "/security-group-rules",
     {"security_group_rule": {"security_group_id": "{id}", "direction": "ingress"}}, "sg", SG_NF),
    ("rule-create-remote_group_id", "POST", "/security-group-rules",
     {"security_group_rule": {"security_group_id": "{a_sg}", "direction": "ingress", "remote_group_id": "{id}"}},
     "sg", SG_NF),
    ("router-add-interface-subnet_id", "PUT", "/routers/{a_router}/add_router_interface", {"subnet_id": "{id}"},
     "subnet", SUBNET_NF),
    ("router-add-interface-port_id", "PUT", "/routers/{a_router}/add_router_interface", {"port_id": "{id}"},
     "port", PORT_NF),
    ("floatingip-create-port_id", "POST", "/floatingips",
     {"floatingip": {"floating_network_id": "{external}", "port_id": "{id}"}}, "port", PORT_NF),
    ("floatingip-update-port_id", "PUT", "/floatingips/{a_fip}", {"floatingip": {"port_id": "{id}"}}, "port", PORT_NF),
    ("trunk-create-port_id", "POST", "/trunks", {"trunk": {"port_id": "{id}"}}, "parent", PORT_NF),
    ("trunk-create-sub_ports-port_id", "POST", "/trunks", {"trunk": {"port_id": "{a_port}", "sub_ports": [
        {"port_id": "{id}", "segmentation_type": "vlan", "segmentation_id": 12}]}}, "port", PORT_NF),
    ("trunk-add_subports-port_id", "PUT", "/trunks/{a_trunk}/add_subports", {"sub_ports": [
        {"port_id": "{id}", "segmentation_type": "vlan", "segmentation_id": 13}]}, "port", PORT_NF),
    ("trunk-remove_subports-port_id", "PUT", "/trunks/{a_trunk}/remove_subports",
     {"sub_ports": [{"port_id": "{id}"}]}, "subport", PORT_NF),
    ("os-interface-attach-port_id", "POST", "/servers/{a_server}/os-interface",
     {"interfaceAttachment": {"port_id": "{id}"}}, "port", ("nova", 404, "itemNotFound", "Port id {id} could not be found.")),
    ("os-interface-attach-net_id", "POST", "/servers/{a_server}/os-interface",
     {"interfaceAttachment": {"net_id": "{id}"}}, "net", ("nova", 404, "itemNotFound", "Network {id} could not be found.")),
    ("os-interface-show-port", "GET", "/servers/{a_server}/os-interface/{id}", None, "server_port",
     ("nova", 404, "itemNotFound", "Instance {a_server} does not have a port with id {id}")),
    ("os-interface-detach-port", "DELETE", "/servers/{a_server}/os-interface/{id}", None, "server_port",
     ("nova", 404, "itemNotFound", "Instance {a_server} does not have a port with id {id}")),
    ("server-create-networks-uuid", "POST", "/servers", {"server": {
        "name": "mx-x", "imageRef": "cirros", "flavorRef": "1", "networks": [{"uuid": "{id}"}]}}, "net",
     ("nova", 404, "itemNotFound", "Network {id} could not be found.")),
    ("server-create-networks-port", "POST", "/servers", {"server": {
        "name": "mx-x", "imageRef": "cirros", "flavorRef": "1", "networks": [{"port": "{id}"}]}}, "port",
     ("nova", 404, "itemNotFound", "Port id {id} could not be found.")),
]


@pytest.fixture(scope="module")
def a_side(cloud):
    """Project A's own objects the body cases point from."""
    token = cloud.token()[0]

    def post(path, key, body, status=201):
        return ok(cloud.req("POST", path, json={key: body}), status)[key]

    net = ok(cloud.req("GET", f"{NEUTRON}/networks?name=db-net"), 200)["networks"][0]["id"]
    external = ok(cloud.req("GET", f"{NEUTRON}/networks?router:external=true"), 200)["networks"][0]["id"]
    sg = ok(cloud.req("GET", f"{NEUTRON}/security-groups?name=default"), 200)["security_groups"][0]["id"]
    port = post(f"{NEUTRON}/ports", "port", {"network_id": net, "name": "mx-a-port"})["id"]
    parent = post(f"{NEUTRON}/ports", "port", {"network_id": net, "name": "mx-a-parent"})["id"]
    trunk = post(f"{NEUTRON}/trunks", "trunk", {"port_id": parent, "name": "mx-a-trunk"})["id"]
    fip = post(f"{NEUTRON}/floatingips", "floatingip", {"floating_network_id": external})["id"]
    server = post(f"{NOVA}/servers", "server", {"name": "mx-a-srv", "imageRef": "cirros", "flavorRef": "1"}, 202)["id"]
    router = post(f"{NEUTRON}/routers", "router", {"name": "mx-a-router"})["id"]
    yield {"token": token, "a_project": cloud.project_id(), "a_net": net, "external": external, "a_sg": sg, "a_port": port, "a_trunk": trunk,
           "a_fip": fip, "a_server": server, "a_router": router}
    for path in [f"{NEUTRON}/routers/{router}", f"{NOVA}/servers/{server}", f"{NEUTRON}/floatingips/{fip}", f"{NEUTRON}/trunks/{trunk}",
                 f"{NEUTRON}/ports/{parent}", f"{NEUTRON}/ports/{port}"]:
        assert cloud.req("DELETE", path).status_code in (202, 204)


def fill(template, values):
    """The template (a str, list or dict) with every "{name}" filled in."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [fill(t, values) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def check_answer(r, expected, values):
    dialect, status, kind, message = expected
    message = message.format(**values)
    if dialect == "neutron":
        neutron_error(r, status, kind, message)
    elif dialect == "nova":
        nova_fault(r, status, kind, message)
    else:
        assert r.status_code == status, r.text
        assert r.json() == {"error": {"code": status, "message": message, "title": kind}}, r.text


def base_of(path):
    if path.startswith(("/identity/", "/compute/")):
        return ""
    return NOVA if path.startswith("/servers") else NEUTRON


def run_case(cloud, project_b, a_values, method, path, body, which, expected, check_a):
    """The request with B's object, then with an id that exists nowhere: the
    same answer in the same words, and B unchanged (A too when the request
    would have written to A)."""
    b_before = project_state(cloud, project_b.token)
    a_before = project_state(cloud, a_values["token"]) if check_a else None
    for target in (project_b.ids[which], (uuid.uuid4().hex if which == "project_id" else str(uuid.uuid4()))):
        values = dict(a_values, id=target, **{k: v for k, v in project_b.ids.items() if k != "project_id"})
        url = base_of(path) + fill(path, values)
        kw = {} if body is None else {"json": fill(body, values)}
        r = cloud.req(method, url, **kw)
        check_answer(r, expected, values)
    assert project_state(cloud, project_b.token) == b_before
    if check_a:
        assert project_state(cloud, a_values["token"]) == a_before


@pytest.mark.parametrize("method,path,body,which,expected",
                         [pytest.param(*c[1:], id=c[0]) for c in PATH_CASES + QUOTA_CASES])
def test_another_projects_object_in_the_path_is_not_found(cloud, project_b, a_side, method, path, body, which, expected):
    run_case(cloud, project_b, a_side, method, path, body, which, expected, check_a=False)


@pytest.mark.parametrize("method,path,body,which,expected", [pytest.param(*c[1:], id=c[0]) for c in BODY_CASES])
def test_another_projects_object_in_a_body_field_is_not_found(cloud, project_b, a_side, method, path, body, which,
                                                              expected):
    run_case(cloud, project_b, a_side, method, path, body, which, expected, check_a=True)


# The cloud admin's rows (issue 12): Neutron's admin reaches every project's
# objects by id. The same show paths the tenant gets 404 on answer 200 with
# B's object (in B's project) to the cloud admin, whose token is scoped to its
# own project; B is unchanged by the reads. (case id, path, which, key)
ADMIN_SHOW_CASES = [
    ("network", "/networks/{id}", "net", "network"),
    ("subnet", "/subnets/{id}", "subnet", "subnet"),
    ("port", "/ports/{id}", "port", "port"),
    ("floatingip", "/floatingips/{id}", "fip", "floatingip"),
    ("security-group", "/security-groups/{id}", "sg", "security_group"),
    ("security-group-rule", "/security-group-rules/{id}", "rule", "security_group_rule"),
    ("trunk", "/trunks/{id}", "trunk", "trunk"),
    ("router", "/routers/{id}", "router", "router"),
    ("port-tags", "/ports/{id}/tags", "port", "tags"),
]


@pytest.mark.parametrize("path,which,key", [pytest.param(*c[1:], id=c[0]) for c in ADMIN_SHOW_CASES])
def test_the_cloud_admin_reads_another_projects_object(cloud, project_b, path, which, key):
    b_before = project_state(cloud, project_b.token)
    r = cloud.req("GET", NEUTRON + path.format(id=project_b.ids[which]), token=cloud.admin_token())
    body = ok(r, 200)[key]
    if key == "tags":
        assert body == ["b-tag"]
    else:
        assert body["id"] == project_b.ids[which]
        assert body.get("project_id", project_b.project_id) == project_b.project_id
    assert project_state(cloud, project_b.token) == b_before


def test_the_cloud_admin_lists_every_projects_floating_ips(cloud, project_b, a_side):
    ids = {f["id"] for f in ok(cloud.req("GET", f"{NEUTRON}/floatingips", token=cloud.admin_token()), 200)[
        "floatingips"]}
    assert {project_b.fip, a_side["a_fip"]} <= ids
    own = {f["id"] for f in ok(cloud.req("GET", f"{NEUTRON}/floatingips"), 200)["floatingips"]}
    assert project_b.fip not in own


# `If-Match: revision_number=N` on B's object answers the same not-found, not
# a 412 that would tell the object exists (the revision is read within A's
# project only).
IF_MATCH_CASES = [c for c in PATH_CASES if c[1] in ("PUT", "DELETE") and c[0].split("-")[0] in
                  ("network", "subnet", "port", "floatingip", "security", "trunk") and "/tags" not in c[2]
                  and "subports" not in c[2]]


@pytest.mark.parametrize("method,path,body,which,expected", [pytest.param(*c[1:], id=c[0]) for c in IF_MATCH_CASES])
def test_a_stale_if_match_on_another_projects_object_is_not_found(cloud, project_b, a_side, method, path, body,
                                                                  which, expected):
    b_before = project_state(cloud, project_b.token)
    for target in (project_b.ids[which], str(uuid.uuid4())):
        values = dict(a_side, id=target, **{k: v for k, v in project_b.ids.items() if k != "project_id"})
        kw = {} if body is None else {"json": fill(body, values)}
        r = cloud.req(method, base_of(path) + fill(path, values), headers={"If-Match": "revision_number=999"}, **kw)
        check_answer(r, expected, values)
    assert project_state(cloud, project_b.token) == b_before


# Lists and filters: (case id, path with {b_*} placeholders, collection key).
LIST_CASES = [
    ("networks", "/networks", "networks"),
    ("networks-tenant_id", "/networks?tenant_id={project_id}", "networks"),
    ("networks-project_id", "/networks?project_id={project_id}", "networks"),
    ("networks-id", "/networks?id={net}", "networks"),
    ("networks-name", "/networks?name=b-net", "networks"),
    ("subnets", "/subnets", "subnets"),
    ("subnets-network_id", "/subnets?network_id={net}", "subnets"),
    ("subnets-project_id", "/subnets?project_id={project_id}", "subnets"),
    ("ports", "/ports", "ports"),
    ("ports-network_id", "/ports?network_id={net}", "ports"),
    ("ports-device_id", "/ports?device_id={server}", "ports"),
    ("ports-device_id-trunk", "/ports?device_id={trunk}", "ports"),
    ("ports-project_id", "/ports?project_id={project_id}", "ports"),
    ("ports-tenant_id", "/ports?tenant_id={project_id}", "ports"),
    ("ports-fixed_ips-subnet_id", "/ports?fixed_ips=subnet_id%3D{subnet}", "ports"),
    ("ports-security_groups", "/ports?security_groups={sg}", "ports"),
    ("ports-tags", "/ports?tags=b-tag", "ports"),
    ("floatingips", "/floatingips", "floatingips"),
    ("floatingips-port_id", "/floatingips?port_id={port}", "floatingips"),
    ("floatingips-project_id", "/floatingips?project_id={project_id}", "floatingips"),
    ("security-groups", "/security-groups", "security_groups"),
    ("security-groups-project_id", "/security-groups?project_id={project_id}", "security_groups"),
    ("security-group-rules", "/security-group-rules", "security_group_rules"),
    ("security-group-rules-security_group_id", "/security-group-rules?security_group_id={sg}", "security_group_rules"),
    ("security-group-rules-project_id", "/security-group-rules?project_id={project_id}", "security_group_rules"),
    ("trunks", "/trunks", "trunks"),
    ("trunks-port_id", "/trunks?port_id={parent}", "trunks"),
    ("trunks-project_id", "/trunks?project_id={project_id}", "trunks"),
    ("servers", "/servers", "servers"),
    ("servers-detail", "/servers/detail", "servers"),
    ("servers-project_id", "/servers?project_id={project_id}", "servers"),
    ("servers-tenant_id", "/servers/detail?tenant_id={project_id}", "servers"),
    ("servers-all_tenants", "/servers/detail?all_tenants=1", "servers"),
    ("servers-name", "/servers?name=b-srv", "servers"),
    ("keystone-projects", "/identity/v3/projects", "projects"),
    ("keystone-projects-name", "/identity/v3/projects?name={project_name}", "projects"),
]

# Filters that name only B's objects: A's answer is an empty list.
EMPTY_LISTS = {"networks-tenant_id", "networks-project_id", "networks-id", "networks-name", "subnets-network_id",
               "subnets-project_id", "ports-network_id", "ports-device_id", "ports-device_id-trunk",
               "ports-project_id", "ports-tenant_id", "ports-fixed_ips-subnet_id", "ports-security_groups",
               "ports-tags", "floatingips-port_id", "floatingips-project_id", "security-groups-project_id",
               "security-group-rules-security_group_id", "security-group-rules-project_id", "trunks-port_id",
               "trunks-project_id", "servers-name", "keystone-projects-name"}


@pytest.mark.parametrize("case,path,key", LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_another_projects_objects_never_appear_in_lists(cloud, project_b, case, path, key):
    values = dict(project_b.ids, project_name=project_b.name)
    url = base_of(path) + fill(path, values)
    r = cloud.req("GET", url)
    body = ok(r, 200)
    items = body[key]
    for name, b_id in project_b.ids.items():
        assert b_id not in r.text, f"{case}: B's {name} {b_id} shows in A's list"
    if case in EMPTY_LISTS:
        assert items == []
    else:
        # A's own objects are there: the list is not empty for another reason.
        assert items, f"{case}: A's list is empty"
    # B itself still sees its objects the same way (the filter works).
    if key in ("ports", "networks", "trunks") and case in EMPTY_LISTS and "{project_id}" not in path:
        theirs = ok(cloud.req("GET", url, token=project_b.token), 200)[key]
        assert theirs, f"{case}: B's own list is empty"
