"""Issue 10's paging matrix for the OpenStack dialect: every Neutron list,
walked two at a time through its `<collection>_links` (forwards with `next`,
then backwards with `previous`), returns every object exactly once in the
order of the unpaged list; a filtered and sorted walk too; Nova's server
lists page through `servers_links` and keep their filters.

A marker that names nothing the caller can see is the collection's 404
`…NotFound` on Neutron, as neutron-lib's `get_marker_obj` answers (an unknown
id, a deleted object's id, another project's object alike), and is ignored
without a limit; on Nova it is 400 `marker [X] not found`. All loops are
bounded."""

import uuid

import pytest
import requests

from conftest import NEUTRON, NOVA, neutron_error, nova_fault, ok

# (path, collection key, Neutron exception type, label in the message)
COLLECTIONS = [
    ("networks", "networks", "NetworkNotFound", "Network"),
    ("subnets", "subnets", "SubnetNotFound", "Subnet"),
    ("ports", "ports", "PortNotFound", "Port"),
    ("floatingips", "floatingips", "FloatingIPNotFound", "Floating IP"),
    ("security-groups", "security_groups", "SecurityGroupNotFound", "Security group"),
    ("security-group-rules", "security_group_rules", "SecurityGroupRuleNotFound", "Security group rule"),
    ("trunks", "trunks", "TrunkNotFound", "Trunk"),
]
PAGE = 2
MAX_PAGES = 200


@pytest.fixture(scope="module")
def paged_objects(cloud):
    """At least five objects of every kind in the demo project, so that every
    walk has three pages or more; and one deleted object of every kind."""
    made = []

    def post(path, key, body, status=201):
        obj = ok(cloud.req("POST", f"{NEUTRON}/{path}", json={key: body}), status)[key]
        made.append(f"{NEUTRON}/{path}/{obj['id']}")
        return obj["id"]

    db = ok(cloud.req("GET", f"{NEUTRON}/networks?name=db-net"), 200)["networks"][0]["id"]
    external = ok(cloud.req("GET", f"{NEUTRON}/networks?router:external=true"), 200)["networks"][0]["id"]
    for i in range(3):
        net = post("networks", "network", {"name": f"mx-pg-net-{i}"})
        post("subnets", "subnet", {"network_id": net, "cidr": f"10.97.{i}.0/24", "ip_version": 4})
    ports = [post("ports", "port", {"network_id": db, "name": f"mx-pg-port-{i}"}) for i in range(8)]
    for i in range(5):
        post("floatingips", "floatingip", {"floating_network_id": external})
    for i in range(4):
        post("security-groups", "security_group", {"name": f"mx-pg-sg-{i}"})
    for i in range(5):
        post("trunks", "trunk", {"port_id": ports[i], "name": f"mx-pg-trunk-{i}"})
    # One deleted object of every kind: its id is a marker that names nothing.
    deleted = {}
    gone_net = ok(cloud.req("POST", f"{NEUTRON}/networks", json={"network": {"name": "mx-pg-gone"}}), 201)["network"]
    gone = {
        "subnets": ("subnet", {"network_id": gone_net["id"], "cidr": "10.98.0.0/24", "ip_version": 4}),
        "ports": ("port", {"network_id": db, "name": "mx-pg-gone"}),
        "floatingips": ("floatingip", {"floating_network_id": external}),
        "security-groups": ("security_group", {"name": "mx-pg-gone"}),
        "trunks": ("trunk", {"port_id": ports[7], "name": "mx-pg-gone"}),
    }
    for path, (key, body) in gone.items():
        deleted[path] = ok(cloud.req("POST", f"{NEUTRON}/{path}", json={key: body}), 201)[key]["id"]
    sg = deleted["security-groups"]
    rule = ok(cloud.req("POST", f"{NEUTRON}/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg, "direction": "ingress"}}), 201)["security_group_rule"]["id"]
    deleted["security-group-rules"] = rule
    for path in ["security-group-rules", "trunks", "floatingips", "ports", "security-groups", "subnets"]:
        assert cloud.req("DELETE", f"{NEUTRON}/{path}/{deleted[path]}").status_code == 204
    assert cloud.req("DELETE", f"{NEUTRON}/networks/{gone_net['id']}").status_code == 204
    deleted["networks"] = gone_net["id"]
    yield {"deleted": deleted, "db": db}
    order = ["/trunks/", "/floatingips/", "/ports/", "/security-groups/", "/subnets/", "/networks/"]
    for path in sorted(reversed(made), key=lambda p: next(i for i, k in enumerate(order) if k in p)):
        assert cloud.req("DELETE", path).status_code == 204, path


def get(cloud, url):
    return ok(requests.get(url, headers={"X-Auth-Token": cloud.token()[0]}, timeout=30), 200)


def walk(cloud, url, key, rel):
    """Follow `rel` links from `url`; returns the pages' ids, page by page."""
    pages = []
    for _ in range(MAX_PAGES):
        body = get(cloud, url)
        pages.append([i["id"] for i in body[key]])
        assert 0 < len(pages[-1]) <= PAGE, (url, body)
        links = [link["href"] for link in body.get(f"{key}_links", []) if link["rel"] == rel]
        assert len(links) <= 1, body
        if not links:
            return pages
        url = links[0]
    pytest.fail(f"{url}: the {rel} links did not end after {MAX_PAGES} pages")


def check_walks(cloud, query, key):
    """Forwards from the first page, then backwards from the last: every
    object of the unpaged answer once, in its order."""
    sep = "&" if "?" in query else "?"
    full = [i["id"] for i in get(cloud, cloud.base + query)[key]]
    assert len(full) >= 5, f"{query}: too few objects for a walk ({len(full)})"
    forward = walk(cloud, f"{cloud.base}{query}{sep}limit={PAGE}", key, "next")
    assert [i for page in forward for i in page] == full
    assert len(forward) == (len(full) + PAGE - 1) // PAGE
    # The last page links back; walking back gives the same pages, reversed.
    last = f"{cloud.base}{query}{sep}limit={PAGE}&marker={forward[-2][-1]}"
    backward = walk(cloud, last, key, "previous")
    assert list(reversed(backward)) == forward


@pytest.mark.parametrize("path,key", [(c[0], c[1]) for c in COLLECTIONS], ids=[c[0] for c in COLLECTIONS])
def test_neutron_list_walks_every_object_once(cloud, paged_objects, path, key):
    check_walks(cloud, f"{NEUTRON}/{path}", key)


@pytest.mark.parametrize("query,key", [
    ("/ports?network_id={db}&sort_key=name&sort_dir=desc", "ports"),
    ("/ports?name=mx-pg-port-0&name=mx-pg-port-1&name=mx-pg-port-2&name=mx-pg-port-3&name=mx-pg-port-4"
     "&fields=id&fields=name", "ports"),
    ("/networks?sort_key=name&sort_dir=asc&router:external=false", "networks"),
    ("/security-group-rules?direction=egress&sort_key=ethertype", "security_group_rules"),
    ("/trunks?sort_key=name&sort_dir=desc", "trunks"),
], ids=["ports-filtered-sorted", "ports-or-filter-fields", "networks-sorted", "rules-filtered-sorted", "trunks-sorted"])
def test_neutron_filtered_sorted_walk_every_object_once(cloud, paged_objects, query, key):
    check_walks(cloud, NEUTRON + query.format(**paged_objects), key)


MARKERS = ["unknown", "deleted", "other-project"]


@pytest.mark.parametrize("path,key,ty,label", COLLECTIONS, ids=[c[0] for c in COLLECTIONS])
@pytest.mark.parametrize("which", MARKERS)
def test_neutron_marker_that_names_nothing_is_not_found(cloud, paged_objects, project_b, which, path, key, ty, label):
    b_objects = {"networks": project_b.net, "subnets": project_b.subnet, "ports": project_b.port,
                 "floatingips": project_b.fip, "security-groups": project_b.sg,
                 "security-group-rules": project_b.rule, "trunks": project_b.trunk}
    marker = {"unknown": str(uuid.uuid4()), "deleted": paged_objects["deleted"][path],
              "other-project": b_objects[path]}[which]
    r = cloud.req("GET", f"{NEUTRON}/{path}?limit={PAGE}&marker={marker}")
    neutron_error(r, 404, ty, f"{label} {marker} could not be found.")
    # Sorted, reversed: the same answer.
    r = cloud.req("GET", f"{NEUTRON}/{path}?limit={PAGE}&marker={marker}&sort_key=id&page_reverse=True")
    neutron_error(r, 404, ty, f"{label} {marker} could not be found.")
    # Without a limit there is no paging: the marker is ignored, as in Neutron.
    full = ok(cloud.req("GET", f"{NEUTRON}/{path}"), 200)[key]
    assert ok(cloud.req("GET", f"{NEUTRON}/{path}?marker={marker}"), 200)[key] == full


def test_neutron_marker_outside_the_filter_still_marks_a_place(cloud, paged_objects):
    """As in Neutron, the marker is the object of that id, whatever the filters."""
    ports = ok(cloud.req("GET", f"{NEUTRON}/ports?network_id={paged_objects['db']}"), 200)["ports"]
    named = sorted((p for p in ports if p["name"].startswith("mx-pg-port-")), key=lambda p: p["id"])
    outside = named[2]["id"]
    wanted = "&".join(f"name={p['name']}" for p in named if p["id"] != outside)
    got = ok(cloud.req("GET", f"{NEUTRON}/ports?{wanted}&limit=50&marker={outside}"), 200)["ports"]
    assert [p["id"] for p in got] == [p["id"] for p in named[3:]]


@pytest.fixture(scope="module")
def paged_servers(cloud):
    made = [ok(cloud.req("POST", f"{NOVA}/servers", json={"server": {
        "name": f"mx-pg-srv-{i}", "imageRef": "cirros", "flavorRef": "1"}}), 202)["server"]["id"] for i in range(5)]
    gone = ok(cloud.req("POST", f"{NOVA}/servers", json={"server": {
        "name": "mx-pg-gone", "imageRef": "cirros", "flavorRef": "1"}}), 202)["server"]["id"]
    assert cloud.req("DELETE", f"{NOVA}/servers/{gone}").status_code == 204
    yield {"made": made, "gone": gone}
    for sid in made:
        assert cloud.req("DELETE", f"{NOVA}/servers/{sid}").status_code == 204


@pytest.mark.parametrize("query", ["/servers", "/servers/detail", "/servers/detail?name=mx-pg-srv",
                                   "/servers?status=ACTIVE"])
def test_nova_server_lists_walk_every_server_once(cloud, paged_servers, query):
    sep = "&" if "?" in query else "?"
    full = [s["id"] for s in get(cloud, cloud.base + NOVA + query)["servers"]]
    assert len(full) >= 5
    if "name=" in query:
        assert sorted(full) == sorted(paged_servers["made"])
    pages = walk(cloud, f"{cloud.base}{NOVA}{query}{sep}limit={PAGE}", "servers", "next")
    assert [i for page in pages for i in page] == full
    assert len(pages) == (len(full) + PAGE - 1) // PAGE


@pytest.mark.parametrize("which", ["unknown", "deleted", "other-project"])
def test_nova_marker_that_names_nothing_is_400(cloud, paged_servers, project_b, which):
    marker = {"unknown": str(uuid.uuid4()), "deleted": paged_servers["gone"], "other-project": project_b.server}[which]
    for path in ("/servers", "/servers/detail"):
        r = cloud.req("GET", f"{NOVA}{path}?limit={PAGE}&marker={marker}")
        nova_fault(r, 400, "badRequest", f"marker [{marker}] not found")
