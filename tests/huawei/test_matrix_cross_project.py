"""Cross-project matrix (issue 10): a user of project A, signing with A's
AK/SK, gets the Huawei not-found answer for project B's objects on every
route, whether B's id is in the path or in a body field, exactly the answer
an id that exists nowhere gets (so B's objects cannot be told from missing
ones); B's objects never appear in A's lists, filters, counts or tag views;
and B's whole state is unchanged after every case."""

import random
import string
import uuid
from types import SimpleNamespace

import pytest
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkecs.v2 import ServerNicSecurityGroup
from huaweicloudsdkvpc.v2 import FixedIp

from conftest import (
    op_attach,
    op_batch,
    op_count,
    op_count_by_tags,
    op_create,
    op_cred_create,
    op_cred_delete,
    op_cred_list,
    op_delete,
    op_detach,
    op_filter_by_tags,
    op_interfaces,
    op_job,
    op_list,
    op_migrate,
    op_nics_add,
    op_nics_delete,
    op_port_create_v1,
    op_port_delete_v1,
    op_port_update_v1,
    op_port_v1,
    op_port_v3,
    op_ports_v1,
    op_ports_v3,
    op_projects,
    op_show,
    op_tag_create,
    op_tag_delete,
    op_tags_create,
    op_tags_delete,
    op_tags_show,
    op_tags_summary,
    op_update,
    outcome,
    signed_request,
)


def ghost():
    """The ids of a project whose objects exist nowhere, named like a Tenant's."""
    u = lambda: str(uuid.uuid4())  # noqa: E731
    ak = "".join(random.choices(string.ascii_uppercase + string.digits, k=20))
    return SimpleNamespace(
        id=uuid.uuid4().hex, name="nowhere", sni=SimpleNamespace(id=u()), loose=SimpleNamespace(id=u()),
        port=u(), port2=u(), net={"id": u()}, subnet4={"id": u()}, sg=u(), sg2=u(), vm=u(), nic=u(), job=u(),
        admin=SimpleNamespace(user_id=u(), ak=ak), tag_key=f"only-{u()}",
    )


def nf(kind, id):
    return f"{kind} {id} could not be found."


def vpc404(kind, id):
    return 404, "VPC.0404", nf(kind, id)


def ecs404(code, kind, id):
    return 404, code, nf(kind, id)


def no_group(id, code="VPC.0001"):
    # nicplane answers an unknown security group in a body with 400 (not 404),
    # the same for another project's group as for one that exists nowhere.
    return 400, code, f"Security group {id} does not exist in the project."


# (case id, call as A's admin given A and the other project X, expected answer given X)
CASES = [
    # ids in the path: VPC v3 supplementary interfaces and their tags
    ("show_sni", lambda a, A, X: op_show(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("update_sni", lambda a, A, X: op_update(a, X.sni.id, description="mine"), lambda X: vpc404("Network interface", X.sni.id)),
    ("delete_sni", lambda a, A, X: op_delete(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("attach_sni", lambda a, A, X: op_attach(a, X.loose.id, A.port2), lambda X: vpc404("Network interface", X.loose.id)),
    ("detach_sni", lambda a, A, X: op_detach(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("show_tags", lambda a, A, X: op_tags_show(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("create_tag", lambda a, A, X: op_tag_create(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("batch_create_tags", lambda a, A, X: op_tags_create(a, X.sni.id), lambda X: vpc404("Network interface", X.sni.id)),
    ("batch_delete_tags", lambda a, A, X: op_tags_delete(a, X.sni.id, [X.tag_key]), lambda X: vpc404("Network interface", X.sni.id)),
    ("delete_tag", lambda a, A, X: op_tag_delete(a, X.sni.id, X.tag_key), lambda X: vpc404("Network interface", X.sni.id)),
    # ids in the path: elastic interfaces (v3 read, v1 read/write)
    ("show_port_v3", lambda a, A, X: op_port_v3(a, X.port), lambda X: vpc404("Network interface", X.port)),
    ("show_port_v1", lambda a, A, X: op_port_v1(a, X.port), lambda X: vpc404("Network interface", X.port)),
    ("update_port_v1", lambda a, A, X: op_port_update_v1(a, X.port, name="mine"), lambda X: vpc404("Network interface", X.port)),
    ("delete_port_v1", lambda a, A, X: op_port_delete_v1(a, X.port), lambda X: vpc404("Network interface", X.port)),
    # ids in the path: ECS servers and jobs
    ("ecs_add_nics_server", lambda a, A, X: op_nics_add(a, X.vm, subnet_id=A.net["id"]), lambda X: ecs404("Ecs.0114", "VM", X.vm)),
    ("ecs_delete_nics_server", lambda a, A, X: op_nics_delete(a, X.vm, X.nic), lambda X: ecs404("Ecs.0114", "VM", X.vm)),
    ("ecs_list_interfaces", lambda a, A, X: op_interfaces(a, X.vm), lambda X: ecs404("Ecs.0114", "VM", X.vm)),
    ("ecs_show_job", lambda a, A, X: op_job(a, X.job), lambda X: ecs404("Ecs.0116", "Job", X.job)),
    # ids in the path: IAM (a user's access keys)
    ("iam_delete_credential", lambda a, A, X: op_cred_delete(a, X.admin.ak), lambda X: vpc404("Credential", X.admin.ak)),
    # ids in body fields
    ("create_sni.parent_id", lambda a, A, X: op_create(a, X.port, A.net["id"]), lambda X: vpc404("Network interface", X.port)),
    ("create_sni.virsubnet_id", lambda a, A, X: op_create(a, A.port, X.net["id"]), lambda X: vpc404("Network", X.net["id"])),
    ("create_sni.security_groups", lambda a, A, X: op_create(a, A.port, A.net["id"], security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("batch_create.parent_id", lambda a, A, X: op_batch(a, X.port, A.net["id"]), lambda X: vpc404("Network interface", X.port)),
    ("batch_create.virsubnet_id", lambda a, A, X: op_batch(a, A.port, X.net["id"]), lambda X: vpc404("Network", X.net["id"])),
    ("batch_create.security_groups", lambda a, A, X: op_batch(a, A.port, A.net["id"], security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("update_sni.security_groups", lambda a, A, X: op_update(a, A.sni.id, security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("attach_sni.parent_id", lambda a, A, X: op_attach(a, A.loose.id, X.port), lambda X: vpc404("Network interface", X.port)),
    ("attach_sni.security_groups", lambda a, A, X: op_attach(a, A.loose.id, A.port2, security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("migrate.parent_id", lambda a, A, X: op_migrate(a, X.port, [A.sni.id]), lambda X: vpc404("Network interface", X.port)),
    ("migrate.sub_network_interfaces", lambda a, A, X: op_migrate(a, A.port2, [X.sni.id]), lambda X: vpc404("Network interface", X.sni.id)),
    ("create_port_v1.network_id", lambda a, A, X: op_port_create_v1(a, X.net["id"]), lambda X: vpc404("Network", X.net["id"])),
    (
        "create_port_v1.fixed_ips.subnet_id",
        lambda a, A, X: op_port_create_v1(a, A.net["id"], fixed_ips=[FixedIp(subnet_id=X.subnet4["id"])]),
        lambda X: (400, "VPC.0001", f"Subnet {X.subnet4['id']} is not a subnet of network Default Network."),
    ),
    ("create_port_v1.security_groups", lambda a, A, X: op_port_create_v1(a, A.net["id"], security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("update_port_v1.security_groups", lambda a, A, X: op_port_update_v1(a, A.port, security_groups=[X.sg]), lambda X: no_group(X.sg)),
    ("ecs_add_nics.subnet_id", lambda a, A, X: op_nics_add(a, A.vm, subnet_id=X.net["id"]), lambda X: ecs404("Ecs.0115", "Network", X.net["id"])),
    ("ecs_add_nics.port_id", lambda a, A, X: op_nics_add(a, A.vm, port_id=X.port), lambda X: ecs404("Ecs.0115", "Network interface", X.port)),
    (
        "ecs_add_nics.security_groups",
        lambda a, A, X: op_nics_add(a, A.vm, subnet_id=A.net["id"], security_groups=[ServerNicSecurityGroup(id=X.sg)]),
        lambda X: no_group(X.sg, "Ecs.0005"),
    ),
    ("ecs_delete_nics.id", lambda a, A, X: op_nics_delete(a, A.vm, X.nic), lambda X: ecs404("Ecs.0115", "Network interface", X.nic)),
    ("iam_create_credential.user_id", lambda a, A, X: op_cred_create(a, X.admin.user_id), lambda X: vpc404("User", X.admin.user_id)),
    ("iam_list_credentials.user_id", lambda a, A, X: op_cred_list(a, X.admin.user_id), lambda X: vpc404("User", X.admin.user_id)),
]


@pytest.fixture(scope="module")
def states(tenants):
    """A's and B's whole state when this module starts: nothing here may change either."""
    A, B = tenants
    return A.snapshot(), B.snapshot()


@pytest.fixture
def b_unchanged(tenants, states):
    """After each refused call, B's whole state is still what it was."""
    yield
    assert tenants[1].snapshot() == states[1], "project B changed"


@pytest.mark.parametrize("call,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_another_projects_object_is_not_found(tenants, b_unchanged, call, expected):
    A, B = tenants
    a = A.admin
    assert outcome(lambda: call(a, A, B)) == expected(B)
    nowhere = ghost()
    assert outcome(lambda: call(a, A, nowhere)) == expected(nowhere), "B's object answers as one that exists nowhere"


# Every project route with B's project in the path (A's key, the SDK's
# X-Project-Id naming B too): "urlTenantId is not equal tokenTenantId".
PROJECT_ROUTES = [
    ("POST", "/v3/{p}/vpc/sub-network-interfaces", lambda X: {"sub_network_interface": {"virsubnet_id": X.net["id"], "parent_id": X.port}}),
    ("GET", "/v3/{p}/vpc/sub-network-interfaces", None),
    ("POST", "/v3/{p}/vpc/sub-network-interfaces/batch-create",
     lambda X: {"sub_network_interface": {"virsubnet_id": X.net["id"], "parent_id": X.port}, "count": 1}),
    ("GET", "/v3/{p}/vpc/sub-network-interfaces/count", None),
    ("PUT", "/v3/{p}/vpc/sub-network-interfaces/migrate",
     lambda X: {"migration_info": {"parent_id": X.port2, "sub_network_interfaces": [{"id": X.sni.id}]}}),
    ("GET", "/v3/{p}/vpc/sub-network-interfaces/{sni}", None),
    ("PUT", "/v3/{p}/vpc/sub-network-interfaces/{sni}", lambda X: {"sub_network_interface": {"description": "x"}}),
    ("DELETE", "/v3/{p}/vpc/sub-network-interfaces/{sni}", None),
    ("POST", "/v3/{p}/vpc/sub-network-interfaces/{loose}/attach", lambda X: {"sub_network_interface": {"parent_id": X.port2}}),
    ("POST", "/v3/{p}/vpc/sub-network-interfaces/{sni}/detach", None),
    ("GET", "/v3/{p}/sub-network-interfaces/tags", None),
    ("POST", "/v3/{p}/sub-network-interfaces/resource-instances/filter", lambda X: {"tags": []}),
    ("POST", "/v3/{p}/sub-network-interfaces/resource-instances/count", lambda X: {"tags": []}),
    ("GET", "/v3/{p}/sub-network-interfaces/{sni}/tags", None),
    ("POST", "/v3/{p}/sub-network-interfaces/{sni}/tags", lambda X: {"tag": {"key": "k", "value": "v"}}),
    ("POST", "/v3/{p}/sub-network-interfaces/{sni}/tags/create", lambda X: {"tags": [{"key": "k", "value": "v"}]}),
    ("POST", "/v3/{p}/sub-network-interfaces/{sni}/tags/delete", lambda X: {"tags": [{"key": X.tag_key}]}),
    ("DELETE", "/v3/{p}/sub-network-interfaces/{sni}/tags/{tag}", None),
    ("GET", "/v3/{p}/ports", None),
    ("GET", "/v3/{p}/ports/{port}", None),
    ("POST", "/v1/{p}/ports", lambda X: {"port": {"network_id": X.net["id"]}}),
    ("GET", "/v1/{p}/ports", None),
    ("GET", "/v1/{p}/ports/{port}", None),
    ("PUT", "/v1/{p}/ports/{port}", lambda X: {"port": {"name": "x"}}),
    ("DELETE", "/v1/{p}/ports/{port2}", None),
    ("POST", "/v1/{p}/cloudservers/{vm}/nics", lambda X: {"nics": [{"subnet_id": X.net["id"]}]}),
    ("POST", "/v1/{p}/cloudservers/{vm}/nics/delete", lambda X: {"nics": [{"id": X.nic}]}),
    ("GET", "/v1/{p}/cloudservers/{vm}/os-interface", None),
    ("GET", "/v1/{p}/jobs/{job}", None),
]


@pytest.mark.parametrize("method,path,body", PROJECT_ROUTES, ids=[f"{m} {p}" for m, p, _ in PROJECT_ROUTES])
def test_another_projects_path_is_refused_on_every_route(cloud, tenants, b_unchanged, method, path, body):
    A, B = tenants
    code = "Ecs.0007" if "/cloudservers/" in path or "/jobs/" in path else "VPC.0007"
    for X in (B, ghost()):
        url = path.format(p=X.id, sni=X.sni.id, loose=X.loose.id, tag=X.tag_key, port=X.port, port2=X.port2, vm=X.vm, job=X.job)
        r = signed_request(cloud.hw_url, A.admin.ak, A.admin.sk, X.id, method, url, body(X) if body else None)
        assert outcome(lambda: r) == (400, code, f"The project {X.id} in the URL is not a project of the signing user.")


# ----- B's objects never appear in A's lists and filters ------------------------------

def ids(items):
    return [i.id for i in items]


def b_ids(B):
    return {B.sni.id, B.loose.id, B.port, B.port2, B.nic}


# (filter, its value for project X, the field of a listed object it matches)
SNI_FILTERS = [
    ("none", None, None),
    ("id", lambda X: X.sni.id, "id"),
    ("parent_id", lambda X: X.port, "parent_id"),
    ("virsubnet_id", lambda X: X.net["id"], "virsubnet_id"),
    ("vpc_id", lambda X: X.sni.vpc_id, "vpc_id"),
    ("mac_address", lambda X: X.sni.mac_address, "mac_address"),
    ("private_ip_address", lambda X: X.sni.private_ip_address, "private_ip_address"),
]


@pytest.mark.parametrize("key,value,field", SNI_FILTERS, ids=[f[0] for f in SNI_FILTERS])
def test_sni_list_filtered_by_bs_values_shows_none_of_b(tenants, key, value, field):
    A, B = tenants
    a = A.admin
    mine = op_list(a).sub_network_interfaces
    assert {A.sni.id, A.loose.id} <= set(ids(mine))
    if key == "none":
        assert not set(ids(mine)) & b_ids(B)
        return
    got = op_list(a, **{key: [value(B)]}).sub_network_interfaces
    # Only A's objects that carry the same value (A and B number their
    # Default Networks alike, so an address can repeat; ids, MACs and VPCs do not).
    assert ids(got) == [s.id for s in mine if getattr(s, field) == value(B)]
    assert not set(ids(got)) & b_ids(B)
    if key != "private_ip_address":
        assert ids(got) == []


def test_count_tags_and_tag_filters_show_none_of_b(tenants):
    A, B = tenants
    a = A.admin
    assert op_count(a).sub_network_interfaces == len(op_list(a).sub_network_interfaces)
    keys = {t.key for t in op_tags_summary(a).tags}
    assert A.tag_key in keys and B.tag_key not in keys
    r = op_filter_by_tags(a, [(B.tag_key, ["v"])])
    assert (r.resources, r.total_count) == ([], 0)
    assert op_count_by_tags(a, [(B.tag_key, ["v"])]).total_count == 0
    r = op_filter_by_tags(a, [(A.tag_key, ["v"])])
    assert [x.resource_id for x in r.resources] == [A.sni.id] and r.total_count == 1


PORT_FILTERS = [
    pytest.param("none", None, id="none"),
    pytest.param("id", lambda X: [X.port], id="id"),
    pytest.param("device_id", lambda X: [X.vm], id="device_id"),
    pytest.param("virsubnet_id", lambda X: [X.net["id"]], id="virsubnet_id"),
    # not a filter nicplane implements (docs/huawei.md): ignored, so A's ports
    # come back, but never B's
    pytest.param("vpc_id", lambda X: [X.sni.vpc_id], id="vpc_id_ignored"),
]


@pytest.mark.parametrize("key,value", PORT_FILTERS)
def test_v3_ports_filtered_by_bs_values_show_none_of_b(tenants, key, value):
    A, B = tenants
    a = A.admin
    mine = op_ports_v3(a).ports
    assert {A.port, A.port2, A.nic} <= set(ids(mine)) and not set(ids(mine)) & b_ids(B)
    if key == "vpc_id":
        assert ids(op_ports_v3(a, vpc_id=value(B)).ports) == ids(mine)
    elif key != "none":
        assert ids(op_ports_v3(a, **{key: value(B)}).ports) == []
    b_port = op_port_v1(B.admin, B.port).port
    assert ids(op_ports_v3(a, mac_address=[b_port.mac_address]).ports) == []


V1_FILTERS = [
    pytest.param("none", None, id="none"),
    pytest.param("id", lambda X: [X.port], id="id"),
    pytest.param("device_id", lambda X: X.vm, id="device_id"),
    pytest.param("network_id", lambda X: X.net["id"], id="network_id"),
]


@pytest.mark.parametrize("key,value", V1_FILTERS)
def test_v1_ports_filtered_by_bs_values_show_none_of_b(tenants, key, value):
    A, B = tenants
    a = A.admin
    mine = op_ports_v1(a).ports
    assert {A.port, A.port2, A.nic} <= set(ids(mine)) and not set(ids(mine)) & b_ids(B)
    if key != "none":
        assert ids(op_ports_v1(a, **{key: value(B)}).ports) == []


def test_iam_lists_show_only_the_callers_keys_and_projects(tenants):
    A, B = tenants
    a = A.admin
    r = op_cred_list(a)
    assert r.status_code == 200 and [c["access"] for c in r.json()["credentials"]] == [a.ak]
    for name in (None, B.name, A.name):
        r = op_projects(a, name)
        assert r.status_code == 200 and [p["id"] for p in r.json()["projects"]] == [A.id], name


def test_both_projects_are_unchanged_by_everything_above(tenants, states):
    A, B = tenants
    assert A.snapshot() == states[0], "project A changed"
    assert B.snapshot() == states[1], "project B changed"
