"""VPC v3 supplementary network interfaces, ports and tags, driven through
the official Huawei SDK's own client objects against a real nicplane."""

import ipaddress
import uuid

from conftest import expect_error
from huaweicloudsdkvpc.v2 import (
    DeletePortRequest,
    ShowPortRequest as ShowPortV1Request,
    UpdatePortOption,
    UpdatePortRequest,
    UpdatePortRequestBody,
)
from huaweicloudsdkvpc.v3 import (
    AttachSubNetworkInterfaceOption,
    AttachSubNetworkInterfaceRequest,
    AttachSubNetworkInterfaceRequestBody,
    BatchCreateSubNetworkInterfaceOption,
    BatchCreateSubNetworkInterfaceRequest,
    BatchCreateSubNetworkInterfaceRequestBody,
    BatchCreateSubNetworkInterfaceTagsRequest,
    BatchCreateSubNetworkInterfaceTagsRequestBody,
    BatchDeleteSubNetworkInterfaceTagsRequest,
    BatchDeleteSubNetworkInterfaceTagsRequestBody,
    CountSubNetworkInterfacesByTagsRequest,
    CountSubNetworkInterfacesByTagsRequestBody,
    CreateSubNetworkInterfaceOption,
    CreateSubNetworkInterfaceRequest,
    CreateSubNetworkInterfaceRequestBody,
    CreateSubNetworkInterfaceTagRequest,
    CreateSubNetworkInterfaceTagRequestBody,
    DeleteResourceTagRequestBody,
    DeleteSubNetworkInterfaceRequest,
    DeleteSubNetworkInterfaceTagRequest,
    DetachSubNetworkInterfaceRequest,
    ListPortsRequest,
    ListSubNetworkInterfacesByTagsRequest,
    ListSubNetworkInterfacesByTagsRequestBody,
    ListSubNetworkInterfacesRequest,
    ListSubNetworkInterfaceTagsRequest,
    ListTag,
    MigrateSubNetworkInterfaceOption,
    MigrateSubNetworkInterfaceRequest,
    MigrateSubNetworkInterfaceRequestBody,
    ResourceTag,
    ShowPortRequest,
    ShowSubNetworkInterfaceRequest,
    ShowSubNetworkInterfacesQuantityRequest,
    ShowSubNetworkInterfaceTagsRequest,
    UpdateSubNetworkInterfaceOption,
    UpdateSubNetworkInterfaceRequest,
    UpdateSubNetworkInterfaceRequestBody,
)

DEFAULT_V4 = ipaddress.ip_network("10.0.0.0/16")


def show(cloud, sni_id):
    return cloud.vpc.show_sub_network_interface(ShowSubNetworkInterfaceRequest(sub_network_interface_id=sni_id)).sub_network_interface


def count(cloud):
    return cloud.vpc.show_sub_network_interfaces_quantity(ShowSubNetworkInterfacesQuantityRequest()).sub_network_interfaces


def test_create_with_string_vlan_reports_every_field_and_show_matches(cloud):
    web = cloud.vms["web-1"]
    parent = web["interfaces"][0]["id"]
    r = cloud.create_sni(parent, vlan_id="100", description="first one")
    assert r.status_code == 201
    s = r.sub_network_interface
    assert s.vlan_id == 100 and s.state == "NORMAL"
    assert s.parent_id == parent and s.parent_device_id == web["id"]
    assert s.virsubnet_id == cloud.default_net["id"]
    assert ipaddress.ip_address(s.private_ip_address) in DEFAULT_V4
    assert s.ipv6_ip_address is None
    assert s.mac_address.startswith("fa:16:3e:")
    assert s.security_groups == [cloud.default_sg], "the default security group when none is given"
    assert s.project_id == cloud.project and s.description == "first one"
    assert s.security_enabled is True and s.tags == [] and s.scope == "center"
    uuid.UUID(s.vpc_id)
    again = show(cloud, s.id)
    assert again.to_dict() == s.to_dict()


def test_auto_vlan_is_the_lowest_free_and_ipv6_is_taken_when_enabled(cloud):
    parent = cloud.new_port()
    a = cloud.create_sni(parent).sub_network_interface
    b = cloud.create_sni(parent, vlan_id="3").sub_network_interface
    c = cloud.create_sni(parent, ipv6_enable=True).sub_network_interface
    assert (a.vlan_id, b.vlan_id, c.vlan_id) == (1, 3, 2)
    assert ipaddress.ip_address(c.ipv6_ip_address).version == 6
    assert len({a.mac_address, b.mac_address, c.mac_address}) == 3
    assert len({a.private_ip_address, b.private_ip_address, c.private_ip_address}) == 3


def test_vlan_conflict_on_the_same_parent_is_409(cloud):
    parent = cloud.new_port()
    cloud.create_sni(parent, vlan_id="42")
    e = expect_error(lambda: cloud.create_sni(parent, vlan_id="42"), 409, "VPC.1701")
    assert "VLAN 42" in e.error_msg
    other = cloud.new_port()
    assert cloud.create_sni(other, vlan_id="42").sub_network_interface.vlan_id == 42


def test_bad_input_is_refused_with_the_right_code_and_changes_nothing(cloud):
    parent = cloud.new_port()
    before = count(cloud)
    expect_error(lambda: cloud.create_sni(parent, virsubnet_id="not-a-subnet"), 400, "VPC.0001")
    expect_error(lambda: cloud.create_sni(parent, virsubnet_id=str(uuid.uuid4())), 404, "VPC.0404")
    expect_error(lambda: cloud.create_sni(str(uuid.uuid4())), 404, "VPC.0404")
    e = expect_error(lambda: cloud.create_sni(parent, private_ip_address="192.168.77.5"), 400, "VPC.0001")
    assert "192.168.77.5" in e.error_msg
    expect_error(lambda: cloud.create_sni(parent, vlan_id="4095"), 400, "VPC.0001")
    expect_error(lambda: cloud.create_sni(parent, vlan_id="abc"), 400, "VPC.0001")
    expect_error(lambda: cloud.create_sni(parent, description="<b>"), 400, "VPC.0001")
    expect_error(lambda: cloud.create_sni(parent, security_groups=[str(uuid.uuid4())]), 400, "VPC.0001")
    taken = cloud.create_sni(parent).sub_network_interface.private_ip_address
    e = expect_error(lambda: cloud.create_sni(parent, private_ip_address=taken), 409, "VPC.1702")
    assert taken in e.error_msg
    sni = cloud.create_sni(parent).sub_network_interface
    expect_error(lambda: cloud.create_sni(sni.id), 400, "VPC.0001")  # a supplementary one is no parent
    assert count(cloud) == before + 2


def test_dry_run_answers_202_and_creates_nothing(cloud):
    parent = cloud.new_port()
    before = count(cloud)
    opt = CreateSubNetworkInterfaceOption(virsubnet_id=cloud.default_net["id"], parent_id=parent, vlan_id="7")
    r = cloud.vpc.create_sub_network_interface(
        CreateSubNetworkInterfaceRequest(body=CreateSubNetworkInterfaceRequestBody(dry_run=True, sub_network_interface=opt))
    )
    assert r.status_code == 202
    assert count(cloud) == before
    # A dry run that breaks a rule fails like the real call.
    cloud.create_sni(parent, vlan_id="7")
    opt = CreateSubNetworkInterfaceOption(virsubnet_id=cloud.default_net["id"], parent_id=parent, vlan_id="7")
    expect_error(
        lambda: cloud.vpc.create_sub_network_interface(
            CreateSubNetworkInterfaceRequest(body=CreateSubNetworkInterfaceRequestBody(dry_run=True, sub_network_interface=opt))
        ),
        409,
        "VPC.1701",
    )


def test_pagination_across_pages_with_repeated_key_filters(cloud):
    p1, p2, p3 = cloud.new_port(), cloud.new_port(), cloud.new_port()
    mine = set()
    for parent in (p1, p2):
        for _ in range(4):
            mine.add(cloud.create_sni(parent, description="paged").sub_network_interface.id)
    cloud.create_sni(p3, description="paged")  # filtered out by parent_id
    cloud.create_sni(p1, description="other")  # filtered out by description
    seen, marker, pages = [], None, 0
    while True:
        r = cloud.vpc.list_sub_network_interfaces(
            ListSubNetworkInterfacesRequest(limit=3, marker=marker, parent_id=[p1, p2], description=["paged"])
        )
        pages += 1
        items = r.sub_network_interfaces
        assert r.page_info.current_count == len(items)
        if items:
            assert r.page_info.previous_marker == items[0].id
        seen += [s.id for s in items]
        assert all(s.description == "paged" and s.parent_id in (p1, p2) for s in items)
        if r.page_info.next_marker is None:
            break
        assert r.page_info.next_marker == items[-1].id
        marker = r.page_info.next_marker
    assert pages == 3 and len(seen) == 8 and set(seen) == mine
    assert seen == sorted(seen), "a stable order (by id)"
    # Other filters: by id (repeated), MAC, address, subnet, VPC.
    some = [show(cloud, i) for i in sorted(mine)[:2]]
    r = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(id=[s.id for s in some]))
    assert {s.id for s in r.sub_network_interfaces} == {s.id for s in some}
    r = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(mac_address=[some[0].mac_address]))
    assert [s.id for s in r.sub_network_interfaces] == [some[0].id]
    r = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(private_ip_address=[some[1].private_ip_address]))
    assert [s.id for s in r.sub_network_interfaces] == [some[1].id]
    r = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(vpc_id=[some[0].vpc_id], parent_id=[p1, p2]))
    assert len(r.sub_network_interfaces) == 9
    r = cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(vpc_id=[str(uuid.uuid4())]))
    assert r.sub_network_interfaces == [] and r.page_info.current_count == 0
    expect_error(lambda: cloud.vpc.list_sub_network_interfaces(ListSubNetworkInterfacesRequest(limit=2001)), 400, "VPC.0001")


def test_update_changes_description_groups_and_pairs(cloud):
    sni = cloud.create_sni(cloud.new_port()).sub_network_interface
    body = UpdateSubNetworkInterfaceRequestBody(
        sub_network_interface=UpdateSubNetworkInterfaceOption(
            description="new", security_groups=[], allowed_address_pairs=[{"ip_address": "10.9.0.0/24"}]
        )
    )
    r = cloud.vpc.update_sub_network_interface(UpdateSubNetworkInterfaceRequest(sub_network_interface_id=sni.id, body=body))
    u = r.sub_network_interface
    assert u.description == "new" and u.security_groups == []
    assert [p.ip_address for p in u.allowed_address_pairs] == ["10.9.0.0/24"]
    assert show(cloud, sni.id).description == "new"
    body = UpdateSubNetworkInterfaceRequestBody(
        dry_run=True, sub_network_interface=UpdateSubNetworkInterfaceOption(description="dry")
    )
    r = cloud.vpc.update_sub_network_interface(UpdateSubNetworkInterfaceRequest(sub_network_interface_id=sni.id, body=body))
    assert r.status_code == 202 and show(cloud, sni.id).description == "new"
    bad = UpdateSubNetworkInterfaceRequestBody(
        sub_network_interface=UpdateSubNetworkInterfaceOption(allowed_address_pairs=[{"ip_address": "0.0.0.0"}])
    )
    expect_error(
        lambda: cloud.vpc.update_sub_network_interface(UpdateSubNetworkInterfaceRequest(sub_network_interface_id=sni.id, body=bad)),
        400,
        "VPC.0001",
    )


def test_delete_answers_204_and_frees_the_address(cloud):
    parent = cloud.new_port()
    sni = cloud.create_sni(parent).sub_network_interface
    r = cloud.vpc.delete_sub_network_interface(DeleteSubNetworkInterfaceRequest(sub_network_interface_id=sni.id))
    assert r.status_code == 204
    expect_error(lambda: show(cloud, sni.id), 404, "VPC.0404")
    expect_error(lambda: cloud.vpc.delete_sub_network_interface(DeleteSubNetworkInterfaceRequest(sub_network_interface_id=sni.id)), 404, "VPC.0404")
    again = cloud.create_sni(parent, private_ip_address=sni.private_ip_address).sub_network_interface
    assert again.private_ip_address == sni.private_ip_address


def test_detach_attach_and_migrate(cloud):
    a, b = cloud.new_port(), cloud.new_port()
    sni = cloud.create_sni(a, vlan_id="10").sub_network_interface
    d = cloud.vpc.detach_sub_network_interface(DetachSubNetworkInterfaceRequest(sub_network_interface_id=sni.id))
    d = d.sub_network_interface
    assert (d.state, d.vlan_id, d.parent_id, d.parent_device_id) == ("UNBOUND", -1, "", "")
    assert d.private_ip_address == sni.private_ip_address and d.mac_address == sni.mac_address
    expect_error(lambda: cloud.vpc.detach_sub_network_interface(DetachSubNetworkInterfaceRequest(sub_network_interface_id=sni.id)), 409, "VPC.1704")

    def attach(parent, **kw):
        body = AttachSubNetworkInterfaceRequestBody(sub_network_interface=AttachSubNetworkInterfaceOption(parent_id=parent, **kw))
        return cloud.vpc.attach_sub_network_interface(AttachSubNetworkInterfaceRequest(sub_network_interface_id=sni.id, body=body))

    r = attach(b, security_enabled=False)
    at = r.sub_network_interface
    assert at.state == "NORMAL" and at.parent_id == b and at.vlan_id == 1
    assert at.security_enabled is False and at.security_groups == []
    expect_error(lambda: attach(a), 409, "VPC.1704")

    # Migrate keeps each VLAN; a VLAN already used on the target refuses the whole move.
    x = cloud.create_sni(a, vlan_id="20").sub_network_interface
    y = cloud.create_sni(a, vlan_id="21").sub_network_interface

    def migrate(parent, ids, dry_run=None):
        info = MigrateSubNetworkInterfaceOption(parent_id=parent, sub_network_interfaces=[{"id": i} for i in ids])
        body = MigrateSubNetworkInterfaceRequestBody(dry_run=dry_run, migration_info=info)
        return cloud.vpc.migrate_sub_network_interface(MigrateSubNetworkInterfaceRequest(body=body))

    assert migrate(b, [x.id, y.id], dry_run=True).status_code == 202
    assert show(cloud, x.id).parent_id == a
    moved = migrate(b, [x.id, y.id]).sub_network_interfaces
    assert {(m.id, m.parent_id, m.vlan_id) for m in moved} == {(x.id, b, 20), (y.id, b, 21)}
    z = cloud.create_sni(a, vlan_id="21").sub_network_interface
    w = cloud.create_sni(a, vlan_id="22").sub_network_interface
    expect_error(lambda: migrate(b, [w.id, z.id]), 409, "VPC.1701")
    assert show(cloud, w.id).parent_id == a, "all or nothing"
    expect_error(lambda: migrate(b, []), 400, "VPC.0001")


def test_batch_create_is_all_or_nothing(cloud):
    parent = cloud.new_port()
    cloud.create_sni(parent, vlan_id="2")

    def batch(n, dry_run=None):
        opt = BatchCreateSubNetworkInterfaceOption(virsubnet_id=cloud.default_net["id"], parent_id=parent, ipv6_enable=True)
        body = BatchCreateSubNetworkInterfaceRequestBody(dry_run=dry_run, sub_network_interface=opt, count=n)
        return cloud.vpc.batch_create_sub_network_interface(BatchCreateSubNetworkInterfaceRequest(body=body))

    before = count(cloud)
    assert batch(3, dry_run=True).status_code == 202 and count(cloud) == before
    r = batch(3)
    assert r.status_code == 201
    items = r.sub_network_interfaces
    assert sorted(s.vlan_id for s in items) == [1, 3, 4]
    assert all(s.ipv6_ip_address for s in items)
    assert count(cloud) == before + 3
    expect_error(lambda: batch(21), 400, "VPC.0001")
    expect_error(lambda: batch(0), 400, "VPC.0001")
    assert count(cloud) == before + 3


def test_tags(cloud):
    sni = cloud.create_sni(cloud.new_port()).sub_network_interface
    sid = sni.id
    r = cloud.vpc.create_sub_network_interface_tag(
        CreateSubNetworkInterfaceTagRequest(sub_network_interface_id=sid, body=CreateSubNetworkInterfaceTagRequestBody(tag=ResourceTag(key="env", value="dev")))
    )
    assert r.status_code == 204
    cloud.vpc.batch_create_sub_network_interface_tags(
        BatchCreateSubNetworkInterfaceTagsRequest(
            sub_network_interface_id=sid,
            body=BatchCreateSubNetworkInterfaceTagsRequestBody(tags=[ResourceTag(key="env", value="prod"), ResourceTag(key="team", value="net")]),
        )
    )
    tags = cloud.vpc.show_sub_network_interface_tags(ShowSubNetworkInterfaceTagsRequest(sub_network_interface_id=sid)).tags
    assert {(t.key, t.value) for t in tags} == {("env", "prod"), ("team", "net")}
    assert {(t.key, t.value) for t in show(cloud, sid).tags} == {("env", "prod"), ("team", "net")}
    expect_error(
        lambda: cloud.vpc.batch_create_sub_network_interface_tags(
            BatchCreateSubNetworkInterfaceTagsRequest(
                sub_network_interface_id=sid,
                body=BatchCreateSubNetworkInterfaceTagsRequestBody(tags=[ResourceTag(key="k", value="1"), ResourceTag(key="k", value="2")]),
            )
        ),
        400,
        "VPC.0001",
    )
    summary = cloud.vpc.list_sub_network_interface_tags(ListSubNetworkInterfaceTagsRequest()).tags
    assert any(t.key == "env" and "prod" in t.values for t in summary)
    body = ListSubNetworkInterfacesByTagsRequestBody(tags=[ListTag(key="team", values=["net"])])
    found = cloud.vpc.list_sub_network_interfaces_by_tags(ListSubNetworkInterfacesByTagsRequest(body=body))
    assert [x.resource_id for x in found.resources] == [sid] and found.total_count == 1
    n = cloud.vpc.count_sub_network_interfaces_by_tags(
        CountSubNetworkInterfacesByTagsRequest(body=CountSubNetworkInterfacesByTagsRequestBody(tags=[ListTag(key="team", values=["net"])]))
    )
    assert n.total_count == 1
    cloud.vpc.delete_sub_network_interface_tag(DeleteSubNetworkInterfaceTagRequest(sub_network_interface_id=sid, tag_key="team"))
    expect_error(
        lambda: cloud.vpc.delete_sub_network_interface_tag(DeleteSubNetworkInterfaceTagRequest(sub_network_interface_id=sid, tag_key="team")),
        404,
        "VPC.0404",
    )
    cloud.vpc.batch_delete_sub_network_interface_tags(
        BatchDeleteSubNetworkInterfaceTagsRequest(
            sub_network_interface_id=sid,
            body=BatchDeleteSubNetworkInterfaceTagsRequestBody(tags=[DeleteResourceTagRequestBody(key="env"), DeleteResourceTagRequestBody(key="missing")]),
        )
    )
    assert show(cloud, sid).tags == []


def test_ports_v3_read_and_v1_write_and_a_parent_with_children_cannot_be_deleted(cloud):
    port = cloud.new_port("eni")
    p3 = cloud.vpc.show_port(ShowPortRequest(port_id=port)).port
    assert p3.id == port and p3.virsubnet_id == cloud.default_net["id"] and p3.status == "DOWN" and p3.device_id == ""
    listed = cloud.vpc.list_ports(ListPortsRequest(id=[port])).ports
    assert [p.id for p in listed] == [port]
    web_nic = cloud.vms["web-1"]["interfaces"][0]["id"]
    by_device = cloud.vpc.list_ports(ListPortsRequest(device_id=[cloud.vms["web-1"]["id"]])).ports
    assert web_nic in [p.id for p in by_device]
    p1 = cloud.vpc2.show_port(ShowPortV1Request(port_id=port)).port
    assert p1.network_id == cloud.default_net["id"] and len(p1.fixed_ips) >= 1
    up = cloud.vpc2.update_port(
        UpdatePortRequest(port_id=port, body=UpdatePortRequestBody(port=UpdatePortOption(name="renamed")))
    ).port
    assert up.name == "renamed"
    sni = cloud.create_sni(port).sub_network_interface
    e = expect_error(lambda: cloud.vpc2.delete_port(DeletePortRequest(port_id=port)), 409, "VPC.1703")
    assert "supplementary" in e.error_msg
    cloud.vpc.delete_sub_network_interface(DeleteSubNetworkInterfaceRequest(sub_network_interface_id=sni.id))
    assert cloud.vpc2.delete_port(DeletePortRequest(port_id=port)).status_code == 204
    expect_error(lambda: cloud.vpc.show_port(ShowPortRequest(port_id=port)), 404, "VPC.0404")
    # A supplementary interface is not a port.
    s2 = cloud.create_sni(cloud.new_port()).sub_network_interface
    expect_error(lambda: cloud.vpc.show_port(ShowPortRequest(port_id=s2.id)), 404, "VPC.0404")
