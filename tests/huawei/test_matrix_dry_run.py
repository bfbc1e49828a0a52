"""Dry-run matrix (issue 10): every Huawei route that takes `dry_run` (the
supplementary interface create, batch create, update, attach, detach and
migrate; seed 002 and docs/huawei.md).

Huawei documents a passing dry run as status 202 ("Check items include
mandatory parameters, request format, and constraints. If the check fails,
an error will be returned. If the check succeeds, response code 202 will be
returned."); nicplane answers 202 with a body of only `request_id` (the
DryRunOperation error code is AWS's, not Huawei's). Checked here:

* a passing dry run is 202, changes nothing in the project's whole state
  (every native list, as the cloud admin), and the same request without
  `dry_run` then succeeds;
* a request that breaks a rule gets exactly the same status, code and
  message with `dry_run` as without, and neither changes anything;
* the routes without `dry_run` refuse the field (400) instead of acting.
"""

import json
import uuid

import pytest

from conftest import (
    op_attach,
    op_batch,
    op_create,
    op_detach,
    op_migrate,
    op_update,
    outcome,
)

U = lambda: str(uuid.uuid4())  # noqa: E731


def nf(kind, id):
    return 404, "VPC.0404", f"{kind} {id} could not be found."


def bad(message):
    return 400, "VPC.0001", message


def loose(T):
    s = T.new_sni(T.new_port()).id
    op_detach(T.admin, s)
    return s


def two_on_one_parent(T):
    p = T.new_port()
    return [T.new_sni(p).id, T.new_sni(p).id]


def body_of(r):
    return r.json() if hasattr(r, "json") and not hasattr(r, "raw_content") else json.loads(r.raw_content)


# (route, setup(T) -> ctx, call(member, T, ctx, dry_run), status without dry_run)
PASSING = [
    ("create", lambda T: T.new_port(),
     lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, vlan_id="7", ipv6_enable=True, description="dry"), 201),
    ("batch_create", lambda T: T.new_port(), lambda m, T, p, d: op_batch(m, p, T.net["id"], count=3, dry_run=d), 201),
    ("update", lambda T: T.new_sni(T.new_port()).id,
     lambda m, T, s, d: op_update(m, s, dry_run=d, description="new", security_groups=[T.sg2],
                                  allowed_address_pairs=[{"ip_address": "10.9.0.0/24"}]), 200),
    ("attach", lambda T: (loose(T), T.new_port()), lambda m, T, c, d: op_attach(m, c[0], c[1], dry_run=d), 200),
    ("detach", lambda T: T.new_sni(T.new_port()).id, lambda m, T, s, d: op_detach(m, s, dry_run=d), 200),
    ("migrate", lambda T: (two_on_one_parent(T), T.new_port()),
     lambda m, T, c, d: op_migrate(m, c[1], c[0], dry_run=d), 200),
]


@pytest.mark.parametrize("setup,call,status", [p[1:] for p in PASSING], ids=[p[0] for p in PASSING])
def test_a_passing_dry_run_is_202_and_changes_nothing(tenants, setup, call, status):
    T = tenants[0]
    ctx = setup(T)
    before = T.snapshot()
    r = call(T.admin, T, ctx, True)
    assert r.status_code == 202
    body = body_of(r)
    assert list(body) == ["request_id"] and len(body["request_id"]) == 32
    assert T.snapshot() == before
    r = call(T.admin, T, ctx, None)
    assert r.status_code == status, "the request the dry run passed really passes"
    assert T.snapshot() != before


def vlan_taken(T):
    p = T.new_port()
    T.new_sni(p, vlan_id="20")
    return p


def quota_left(n):
    """Leave the project room for n more ports; the finalizer lifts the limit again."""
    def setup(T, fin):
        used = next(q["used"] for q in T.cloud.admin.ok("GET", f"/v1/projects/{T.id}/quotas")["quotas"] if q["resource"] == "port")
        p = T.new_port()
        T.cloud.admin.ok("PUT", f"/v1/projects/{T.id}/quotas", json={"port": used + 1 + n})
        fin(lambda: T.cloud.admin.ok("DELETE", f"/v1/projects/{T.id}/quotas"))
        return p
    return setup


def vlan_on_target(T):
    target = T.new_port()
    T.new_sni(target, vlan_id="30")
    return T.new_sni(T.new_port(), vlan_id="30").id, target


QUOTA = (409, "VPC.0106", "Quota exceeded for resources: ['port'].")

# (route, case, setup(T, finalizer) -> ctx, call(member, T, ctx, dry_run), expected(T, ctx))
FAILING = [
    ("create", "malformed_virsubnet_id", lambda T, f: T.new_port(), lambda m, T, p, d: op_create(m, p, "not-a-uuid", dry_run=d),
     lambda T, p: bad("Invalid value for virsubnet_id: 'not-a-uuid' is not a UUID.")),
    ("create", "unknown_parent", lambda T, f: U(), lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d),
     lambda T, p: nf("Network interface", p)),
    ("create", "unknown_virsubnet", lambda T, f: (T.new_port(), U()), lambda m, T, c, d: op_create(m, c[0], c[1], dry_run=d),
     lambda T, c: nf("Network", c[1])),
    ("create", "vlan_out_of_range", lambda T, f: T.new_port(), lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, vlan_id="4095"),
     lambda T, p: bad("Invalid value for vlan_id: 4095 is outside the range 1-4094.")),
    ("create", "vlan_in_use", lambda T, f: vlan_taken(T), lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, vlan_id="20"),
     lambda T, p: (409, "VPC.1701", f"VLAN 20 is already used on parent interface {p}.")),
    ("create", "address_in_use", lambda T, f: (T.new_port(), T.sni.private_ip_address),
     lambda m, T, c, d: op_create(m, c[0], T.net["id"], dry_run=d, private_ip_address=c[1]),
     lambda T, c: (409, "VPC.1702", f"The IP address {c[1]} is already in use on subnet default-v4.")),
    ("create", "address_outside_the_network", lambda T, f: T.new_port(),
     lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, private_ip_address="192.168.77.5"),
     lambda T, p: bad("The IP address 192.168.77.5 is not in any subnet of network Default Network.")),
    ("create", "gateway_address", lambda T, f: T.new_port(),
     lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, private_ip_address="10.0.0.1"),
     lambda T, p: bad("The IP address 10.0.0.1 is the gateway of subnet default-v4 and cannot be assigned.")),
    ("create", "bad_description", lambda T, f: T.new_port(), lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d, description="<b>"),
     lambda T, p: bad("Invalid value for description: must not contain control characters, '<' or '>'.")),
    ("create", "supplementary_parent", lambda T, f: T.sni.id, lambda m, T, s, d: op_create(m, s, T.net["id"], dry_run=d),
     lambda T, s: bad(f"Network interface {s} is a supplementary interface and cannot be a parent.")),
    ("create", "unknown_security_group", lambda T, f: (T.new_port(), U()),
     lambda m, T, c, d: op_create(m, c[0], T.net["id"], dry_run=d, security_groups=[c[1]]),
     lambda T, c: bad(f"Security group {c[1]} does not exist in the project.")),
    ("create", "over_the_port_quota", quota_left(0), lambda m, T, p, d: op_create(m, p, T.net["id"], dry_run=d), lambda T, p: QUOTA),
    ("batch_create", "count_0", lambda T, f: T.new_port(), lambda m, T, p, d: op_batch(m, p, T.net["id"], count=0, dry_run=d),
     lambda T, p: bad("Invalid value for count: 0 is outside the range 1-20.")),
    ("batch_create", "count_21", lambda T, f: T.new_port(), lambda m, T, p, d: op_batch(m, p, T.net["id"], count=21, dry_run=d),
     lambda T, p: bad("Invalid value for count: 21 is outside the range 1-20.")),
    ("batch_create", "unknown_parent", lambda T, f: U(), lambda m, T, p, d: op_batch(m, p, T.net["id"], dry_run=d),
     lambda T, p: nf("Network interface", p)),
    ("batch_create", "over_the_port_quota", quota_left(1), lambda m, T, p, d: op_batch(m, p, T.net["id"], count=2, dry_run=d),
     lambda T, p: QUOTA),
    ("update", "address_pair_0.0.0.0", lambda T, f: T.sni.id,
     lambda m, T, s, d: op_update(m, s, dry_run=d, allowed_address_pairs=[{"ip_address": "0.0.0.0"}]),
     lambda T, s: bad("Invalid value for allowed_address_pairs: '0.0.0.0' is not allowed.")),
    ("update", "description_too_long", lambda T, f: T.sni.id, lambda m, T, s, d: op_update(m, s, dry_run=d, description="x" * 256),
     lambda T, s: bad("Invalid value for description: must be at most 255 characters.")),
    ("update", "unknown_interface", lambda T, f: U(), lambda m, T, s, d: op_update(m, s, dry_run=d, description="x"),
     lambda T, s: nf("Network interface", s)),
    ("update", "unknown_security_group", lambda T, f: (T.sni.id, U()), lambda m, T, c, d: op_update(m, c[0], dry_run=d, security_groups=[c[1]]),
     lambda T, c: bad(f"Security group {c[1]} does not exist in the project.")),
    ("attach", "already_attached", lambda T, f: (T.sni.id, T.new_port()), lambda m, T, c, d: op_attach(m, c[0], c[1], dry_run=d),
     lambda T, c: (409, "VPC.1704", f"Supplementary interface {c[0]} is already attached to parent interface {T.port}; detach it first.")),
    ("attach", "unknown_parent", lambda T, f: (loose(T), U()), lambda m, T, c, d: op_attach(m, c[0], c[1], dry_run=d),
     lambda T, c: nf("Network interface", c[1])),
    ("attach", "supplementary_parent", lambda T, f: loose(T), lambda m, T, s, d: op_attach(m, s, T.sni.id, dry_run=d),
     lambda T, s: bad(f"Network interface {T.sni.id} is a supplementary interface and cannot be a parent.")),
    ("attach", "unknown_interface", lambda T, f: U(), lambda m, T, s, d: op_attach(m, s, T.port2, dry_run=d),
     lambda T, s: nf("Network interface", s)),
    ("detach", "not_attached", lambda T, f: loose(T), lambda m, T, s, d: op_detach(m, s, dry_run=d),
     lambda T, s: (409, "VPC.1704", f"Supplementary interface {s} is not attached to a parent interface.")),
    ("detach", "unknown_interface", lambda T, f: U(), lambda m, T, s, d: op_detach(m, s, dry_run=d),
     lambda T, s: nf("Network interface", s)),
    ("migrate", "vlan_in_use_on_the_target", lambda T, f: vlan_on_target(T), lambda m, T, c, d: op_migrate(m, c[1], [c[0]], dry_run=d),
     lambda T, c: (409, "VPC.1701", f"VLAN 30 is already used on parent interface {c[1]}.")),
    ("migrate", "none_given", lambda T, f: T.new_port(), lambda m, T, p, d: op_migrate(m, p, [], dry_run=d),
     lambda T, p: bad("Give at least one supplementary interface to migrate.")),
    ("migrate", "unknown_target", lambda T, f: U(), lambda m, T, p, d: op_migrate(m, p, [T.sni.id], dry_run=d),
     lambda T, p: nf("Network interface", p)),
    ("migrate", "unknown_interface", lambda T, f: U(), lambda m, T, s, d: op_migrate(m, T.port2, [s], dry_run=d),
     lambda T, s: nf("Network interface", s)),
    ("migrate", "supplementary_target", lambda T, f: T.new_sni(T.new_port()).id, lambda m, T, s, d: op_migrate(m, s, [T.sni.id], dry_run=d),
     lambda T, s: bad(f"Network interface {s} is a supplementary interface and cannot be a parent.")),
]


@pytest.mark.parametrize("setup,call,expected", [f[2:] for f in FAILING], ids=[f"{f[0]}-{f[1]}" for f in FAILING])
def test_a_failing_request_fails_alike_with_and_without_dry_run(request, tenants, setup, call, expected):
    T = tenants[0]
    ctx = setup(T, request.addfinalizer)
    before = T.snapshot()
    dry = outcome(lambda: call(T.admin, T, ctx, True))
    assert dry == expected(T, ctx)
    assert T.snapshot() == before
    assert outcome(lambda: call(T.admin, T, ctx, None)) == dry
    assert T.snapshot() == before


# Routes without dry_run: the field is refused, never ignored (a client
# asking for a check must not get the real thing).
NO_DRY_RUN = [
    ("tag_create", "/v3/{p}/sub-network-interfaces/{s}/tags", {"tag": {"key": "k", "value": "v"}}),
    ("tags_batch_create", "/v3/{p}/sub-network-interfaces/{s}/tags/create", {"tags": [{"key": "k", "value": "v"}]}),
    ("tags_batch_delete", "/v3/{p}/sub-network-interfaces/{s}/tags/delete", {"tags": [{"key": "k"}]}),
    ("port_create_v1", "/v1/{p}/ports", {"port": {"network_id": "{n}"}}),
    ("ecs_add_nics", "/v1/{p}/cloudservers/{vm}/nics", {"nics": [{"subnet_id": "{n}"}]}),
    ("ecs_delete_nics", "/v1/{p}/cloudservers/{vm}/nics/delete", {"nics": [{"id": "{nic}"}]}),
]


@pytest.mark.parametrize("path,body", [r[1:] for r in NO_DRY_RUN], ids=[r[0] for r in NO_DRY_RUN])
def test_routes_without_dry_run_refuse_the_field(tenants, path, body):
    T = tenants[0]
    fill = dict(p=T.id, s=T.sni.id, n=T.net["id"], vm=T.vm, nic=T.nic)
    body = json.loads(json.dumps({"dry_run": True, **body}).replace("{n}", fill["n"]).replace("{nic}", fill["nic"]))
    before = T.snapshot()
    got = outcome(lambda: T.admin.signed("POST", path.format(**fill), body))
    fields = ", ".join(f"`{k}`" for k in body if k != "dry_run")
    ecs = "/cloudservers/" in path
    assert got == (400, "Ecs.0005" if ecs else "VPC.0001",
                   f"The request body is not valid: unknown field `dry_run`, expected {fields}.")
    assert T.snapshot() == before
