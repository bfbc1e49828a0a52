"""Roles matrix (issue 10): every write route of the Huawei listener, called
with the AK/SK of a Tenant Reader and of a Tenant Power User of project A.

* A reader is refused with 403 and the exact Huawei error (`VPC.2701`, ECS
  `Ecs.0102`), a dry run too, and the project's whole state is unchanged.
* The console guide (seed 000) gives every network-interface action to the
  Tenant Administrator *and* the Tenant Power User; only network, quota and
  member management are the administrator's, and the Huawei listener has no
  route for those. So a power user is allowed on every route here, and the
  test checks that the action really happened.
* Access keys belong to a user, not to a project role: every user, a reader
  included, creates and deletes their own (with a token, as IAM wants).
"""

import uuid

import pytest

from conftest import (
    op_attach,
    op_batch,
    op_count,
    op_count_by_tags,
    op_cred_list,
    op_filter_by_tags,
    op_port_v3,
    op_ports_v1,
    op_ports_v3,
    op_projects,
    op_tags_summary,
    op_create,
    op_cred_create,
    op_cred_delete,
    op_delete,
    op_detach,
    op_job,
    op_list,
    op_migrate,
    op_nics_add,
    op_nics_delete,
    op_interfaces,
    op_port_create_v1,
    op_port_delete_v1,
    op_port_update_v1,
    op_port_v1,
    op_show,
    op_tag_create,
    op_tags_create,
    op_tags_delete,
    op_tag_delete,
    op_tags_show,
    op_update,
    outcome,
)

READ_ONLY = "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role."


def loose(T):
    """An unbound supplementary interface of T."""
    s = T.new_sni(T.new_port()).id
    op_detach(T.admin, s)
    return s


def tagged(T):
    s = T.new_sni(T.new_port()).id
    op_tag_create(T.admin, s, "k", "v")
    return s


def vm_with_nic(T):
    vm = T.new_vm()
    return vm, T.add_nic(vm)[1]


def parent_of(T, sni):
    return op_show(T.admin, sni).sub_network_interface.parent_id


def sni_state(T, sni):
    return op_show(T.admin, sni).sub_network_interface.state


def job_ok(T, r):
    j = op_job(T.admin, r.job_id)
    return j.status == "SUCCESS" and j.error_code is None


# (route, setup(T) -> ctx, call(member, T, ctx), success status, check(T, ctx, response) after success)
WRITES = [
    ("create_sni", lambda T: T.new_port(), lambda m, T, p: op_create(m, p, T.net["id"]), 201,
     lambda T, p, r: [s.id for s in op_list(T.admin, parent_id=[p]).sub_network_interfaces] == [r.sub_network_interface.id]),
    ("batch_create_sni", lambda T: T.new_port(), lambda m, T, p: op_batch(m, p, T.net["id"], count=2), 201,
     lambda T, p, r: len(op_list(T.admin, parent_id=[p]).sub_network_interfaces) == 2),
    ("update_sni", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_update(m, s, description="by role"), 200,
     lambda T, s, r: op_show(T.admin, s).sub_network_interface.description == "by role"),
    ("delete_sni", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_delete(m, s), 204,
     lambda T, s, r: outcome(lambda: op_show(T.admin, s))[0] == 404),
    ("attach_sni", lambda T: (loose(T), T.new_port()), lambda m, T, c: op_attach(m, c[0], c[1]), 200,
     lambda T, c, r: parent_of(T, c[0]) == c[1]),
    ("detach_sni", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_detach(m, s), 200,
     lambda T, s, r: sni_state(T, s) == "UNBOUND"),
    ("migrate_sni", lambda T: (T.new_sni(T.new_port()).id, T.new_port()), lambda m, T, c: op_migrate(m, c[1], [c[0]]), 200,
     lambda T, c, r: parent_of(T, c[0]) == c[1]),
    ("create_sni_dry_run", lambda T: T.new_port(), lambda m, T, p: op_create(m, p, T.net["id"], dry_run=True), 202,
     lambda T, p, r: op_list(T.admin, parent_id=[p]).sub_network_interfaces == []),
    ("batch_create_sni_dry_run", lambda T: T.new_port(), lambda m, T, p: op_batch(m, p, T.net["id"], dry_run=True), 202,
     lambda T, p, r: op_list(T.admin, parent_id=[p]).sub_network_interfaces == []),
    ("update_sni_dry_run", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_update(m, s, dry_run=True, description="x"), 202,
     lambda T, s, r: op_show(T.admin, s).sub_network_interface.description == ""),
    ("attach_sni_dry_run", lambda T: (loose(T), T.new_port()), lambda m, T, c: op_attach(m, c[0], c[1], dry_run=True), 202,
     lambda T, c, r: sni_state(T, c[0]) == "UNBOUND"),
    ("detach_sni_dry_run", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_detach(m, s, dry_run=True), 202,
     lambda T, s, r: sni_state(T, s) == "NORMAL"),
    ("migrate_sni_dry_run", lambda T: (T.new_sni(T.new_port()).id, T.new_port()),
     lambda m, T, c: op_migrate(m, c[1], [c[0]], dry_run=True), 202, lambda T, c, r: parent_of(T, c[0]) != c[1]),
    ("create_tag", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_tag_create(m, s, "role", "x"), 204,
     lambda T, s, r: [(t.key, t.value) for t in op_tags_show(T.admin, s).tags] == [("role", "x")]),
    ("batch_create_tags", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s: op_tags_create(m, s, [("a", "1"), ("b", "2")]), 204,
     lambda T, s, r: sorted((t.key, t.value) for t in op_tags_show(T.admin, s).tags) == [("a", "1"), ("b", "2")]),
    ("batch_delete_tags", tagged, lambda m, T, s: op_tags_delete(m, s, ["k"]), 204, lambda T, s, r: op_tags_show(T.admin, s).tags == []),
    ("delete_tag", tagged, lambda m, T, s: op_tag_delete(m, s, "k"), 204, lambda T, s, r: op_tags_show(T.admin, s).tags == []),
    ("create_port_v1", lambda T: f"role-{uuid.uuid4().hex[:8]}", lambda m, T, n: op_port_create_v1(m, T.net["id"], name=n), 201,
     lambda T, n, r: op_port_v1(T.admin, r.port.id).port.name == n),
    ("update_port_v1", lambda T: T.new_port(), lambda m, T, p: op_port_update_v1(m, p, name="by-role"), 200,
     lambda T, p, r: op_port_v1(T.admin, p).port.name == "by-role"),
    ("delete_port_v1", lambda T: T.new_port(), lambda m, T, p: op_port_delete_v1(m, p), 204,
     lambda T, p, r: outcome(lambda: op_port_v1(T.admin, p))[0] == 404),
    ("ecs_add_nics", lambda T: T.new_vm(), lambda m, T, vm: op_nics_add(m, vm, subnet_id=T.net["id"]), 200,
     lambda T, vm, r: job_ok(T, r) and len(op_interfaces(T.admin, vm).interface_attachments) == 2),
    ("ecs_delete_nics", vm_with_nic, lambda m, T, c: op_nics_delete(m, c[0], c[1]), 200,
     lambda T, c, r: job_ok(T, r) and len(op_interfaces(T.admin, c[0]).interface_attachments) == 1),
]


@pytest.mark.parametrize("route,setup,call,status,check", WRITES, ids=[w[0] for w in WRITES])
def test_a_reader_is_refused_and_nothing_changes(tenants, route, setup, call, status, check):
    T = tenants[0]
    ctx = setup(T)
    before = T.snapshot()
    code = "Ecs.0102" if route.startswith("ecs_") else "VPC.2701"
    got = outcome(lambda: call(T.members["reader"], T, ctx))
    assert got == (403, code, READ_ONLY)
    assert T.snapshot() == before


@pytest.mark.parametrize("setup,call,status,check", [w[1:] for w in WRITES], ids=[w[0] for w in WRITES])
def test_a_power_user_is_allowed(tenants, setup, call, status, check):
    T = tenants[0]
    ctx = setup(T)
    r = call(T.members["power_user"], T, ctx)
    assert r.status_code == status
    assert check(T, ctx, r), "the action took effect (or, for a dry run, did not)"


@pytest.mark.parametrize("role", ["reader", "power_user", "admin"])
def test_every_role_creates_and_deletes_its_own_access_keys_with_a_token(tenants, role):
    T = tenants[0]
    m = T.members[role]
    r = op_cred_create(m, m.user_id)
    assert r.status_code == 201, r.text
    access = r.json()["credential"]["access"]
    listed = {c["access"] for c in m.native.ok("GET", f"/v1/users/{m.user_id}/credentials")}
    assert listed == {m.ak, access}
    r = op_cred_delete(m, access)
    assert r.status_code == 204, r.text
    assert {c["access"] for c in m.native.ok("GET", f"/v1/users/{m.user_id}/credentials")} == {m.ak}


# The other way round: a reader may read every read route.
READS = [
    ("list_sni", lambda m, T: op_list(m)),
    ("count_sni", lambda m, T: op_count(m)),
    ("show_sni", lambda m, T: op_show(m, T.sni.id)),
    ("show_tags", lambda m, T: op_tags_show(m, T.sni.id)),
    ("tag_summary", lambda m, T: op_tags_summary(m)),
    ("filter_by_tags", lambda m, T: op_filter_by_tags(m, [(T.tag_key, ["v"])])),
    ("count_by_tags", lambda m, T: op_count_by_tags(m, [(T.tag_key, ["v"])])),
    ("list_ports_v3", lambda m, T: op_ports_v3(m)),
    ("show_port_v3", lambda m, T: op_port_v3(m, T.port)),
    ("list_ports_v1", lambda m, T: op_ports_v1(m)),
    ("show_port_v1", lambda m, T: op_port_v1(m, T.port)),
    ("ecs_list_interfaces", lambda m, T: op_interfaces(m, T.vm)),
    ("ecs_show_job", lambda m, T: op_job(m, T.job)),
    ("iam_list_credentials", lambda m, T: op_cred_list(m)),
    ("iam_projects", lambda m, T: op_projects(m)),
]


@pytest.mark.parametrize("call", [r[1] for r in READS], ids=[r[0] for r in READS])
def test_a_reader_may_read_every_read_route(tenants, call):
    T = tenants[0]
    assert outcome(lambda: call(T.members["reader"], T)) == (200, None, None)


def test_a_readers_token_is_refused_like_its_signature(tenants):
    """The Huawei listener also takes an X-Auth-Token; the role decides, not the proof."""
    T = tenants[0]
    r = T.members["reader"].iam("POST", f"/v3/{T.id}/vpc/sub-network-interfaces",
                                {"sub_network_interface": {"virsubnet_id": T.net["id"], "parent_id": T.port2}})
    assert outcome(lambda: r) == (403, "VPC.2701", READ_ONLY)
