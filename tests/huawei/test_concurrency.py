"""Concurrent creates on one parent: VLAN choice and uniqueness hold."""

import concurrent.futures
import threading

from huaweicloudsdkcore.exceptions import exceptions

PARALLEL = 100
WORKERS = 25


def run_parallel(cloud, parent, n, **kw):
    local = threading.local()

    def one(_):
        if not hasattr(local, "client"):
            local.client = cloud.vpc_client()
        try:
            return cloud.create_sni(parent, client=local.client, **kw).sub_network_interface
        except exceptions.ClientRequestException as e:
            return e

    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, range(n)))


def test_100_parallel_creates_without_vlan_get_100_distinct_vlans(cloud):
    parent = cloud.new_port("busy")
    results = run_parallel(cloud, parent, PARALLEL)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], [(e.status_code, e.error_code, e.error_msg) for e in errors[:3]]
    vlans = [r.vlan_id for r in results]
    assert len(set(vlans)) == PARALLEL
    assert sorted(vlans) == list(range(1, PARALLEL + 1)), "the lowest free ids, no gaps"
    assert len({r.private_ip_address for r in results}) == PARALLEL
    assert len({r.mac_address for r in results}) == PARALLEL


def test_parallel_creates_with_the_same_vlan_yield_exactly_one_success(cloud):
    parent = cloud.new_port("contended")
    results = run_parallel(cloud, parent, 30, vlan_id="777")
    ok = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 1 and ok[0].vlan_id == 777
    assert {(e.status_code, e.error_code) for e in errors} == {(409, "VPC.1701")}
