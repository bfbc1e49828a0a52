"""Quotas through the official Huawei SDK (issue 9, point 4): supplementary
interfaces and ports count against the project's `port` quota, which the
cloud admin sets through the native API; a create past it is 409 with the
Huawei code and Neutron's message, and changes nothing."""

from conftest import expect_error


def port_usage(cloud):
    q = cloud.alice.ok("GET", f"/v1/projects/{cloud.project}/quotas")["quotas"]
    return next(x for x in q if x["resource"] == "port")


def test_supplementary_and_v1_ports_stop_at_the_port_quota(cloud):
    used = port_usage(cloud)["used"]
    parent = cloud.new_port("quota-parent")
    cloud.admin.ok("PUT", f"/v1/projects/{cloud.project}/quotas", json={"port": used + 2})
    try:
        cloud.create_sni(parent)
        e = expect_error(lambda: cloud.create_sni(parent), 409, "VPC.0106")
        assert e.error_msg == "Quota exceeded for resources: ['port'].", e.error_msg
        e = expect_error(lambda: cloud.new_port("over"), 409, "VPC.0106")
        assert e.error_msg == "Quota exceeded for resources: ['port'].", e.error_msg
        assert port_usage(cloud) == {"resource": "port", "limit": used + 2, "used": used + 2, "reserved": 0}
        # A tenant cannot lift it.
        r = cloud.alice.req("PUT", f"/v1/projects/{cloud.project}/quotas", json={"port": -1})
        assert r.status_code == 403, r.text
    finally:
        cloud.admin.ok("DELETE", f"/v1/projects/{cloud.project}/quotas")
