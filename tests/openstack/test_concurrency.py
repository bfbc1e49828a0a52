"""Issue 10's OpenStack-dialect races: twelve `os-interface` attaches at once
on one server, and eight attaches of the same fixed IP at once. The core's
interface limit (5, the console guide's) and the subnet's address uniqueness
hold under the race: exactly the free slots (or the one address) are won,
the others get Nova's answer in nicplane's exact words, and the interfaces
listed afterwards are exactly the winners', with distinct MACs and distinct
fixed IPs."""

import threading

import pytest
import requests

from conftest import NEUTRON, NOVA, ok

MAX_INTERFACES = 5
RACERS = 12


def race(cloud, url, bodies):
    """POST every body at once (threads behind a barrier); returns the answers
    in body order as (status, json)."""
    token = cloud.token()[0]
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)

    def one(i):
        barrier.wait(timeout=30)
        r = requests.post(url, headers={"X-Auth-Token": token}, json=bodies[i], timeout=120)
        answers[i] = (r.status_code, r.json())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert all(a is not None for a in answers), "a racer did not finish"
    return answers


@pytest.fixture
def racing_server(cloud):
    s = ok(cloud.req("POST", f"{NOVA}/servers", json={"server": {
        "name": "mx-race", "imageRef": "cirros", "flavorRef": "1"}}), 202)["server"]["id"]
    yield s
    assert cloud.req("DELETE", f"{NOVA}/servers/{s}").status_code == 204


def attachments(cloud, server):
    return ok(cloud.req("GET", f"{NOVA}/servers/{server}/os-interface"), 200)["interfaceAttachments"]


def db_net(cloud):
    return ok(cloud.req("GET", f"{NEUTRON}/networks?name=db-net"), 200)["networks"][0]["id"]


def test_parallel_attaches_fill_exactly_the_free_slots(cloud, racing_server):
    before = attachments(cloud, racing_server)
    assert len(before) == 1  # the primary interface
    free = MAX_INTERFACES - len(before)
    url = f"{cloud.base}{NOVA}/servers/{racing_server}/os-interface"
    answers = race(cloud, url, [{"interfaceAttachment": {"net_id": db_net(cloud)}}] * RACERS)
    won = [body["interfaceAttachment"] for status, body in answers if status == 200]
    lost = [(status, body) for status, body in answers if status != 200]
    assert len(won) == free, answers
    message = f"VM mx-race already has {MAX_INTERFACES} network interfaces, the maximum is {MAX_INTERFACES}."
    assert lost == [(403, {"forbidden": {"code": 403, "message": message}})] * (RACERS - free)
    after = attachments(cloud, racing_server)
    assert len(after) == MAX_INTERFACES
    # The listed interfaces are the primary and exactly the winners, as answered.
    listed = {a["port_id"]: a for a in after}
    assert set(listed) == {a["port_id"] for a in before} | {w["port_id"] for w in won}
    for w in won:
        assert listed[w["port_id"]]["mac_addr"] == w["mac_addr"]
        assert listed[w["port_id"]]["fixed_ips"] == w["fixed_ips"]
    macs = [a["mac_addr"] for a in after]
    ips = [ip["ip_address"] for a in after for ip in a["fixed_ips"]]
    assert len(set(macs)) == len(macs), macs
    assert len(set(ips)) == len(ips), ips
    # Neutron shows the same ports on the server, with the same addresses.
    ports = ok(cloud.req("GET", f"{NEUTRON}/ports?device_id={racing_server}"), 200)["ports"]
    assert {p["id"]: (p["mac_address"], [ip["ip_address"] for ip in p["fixed_ips"]]) for p in ports} == \
        {a["port_id"]: (a["mac_addr"], [ip["ip_address"] for ip in a["fixed_ips"]]) for a in after}


def test_parallel_attaches_of_one_fixed_ip_have_one_winner(cloud, racing_server):
    address = "10.20.0.201"
    url = f"{cloud.base}{NOVA}/servers/{racing_server}/os-interface"
    body = {"interfaceAttachment": {"net_id": db_net(cloud), "fixed_ips": [{"ip_address": address}]}}
    answers = race(cloud, url, [body] * 8)
    won = [b["interfaceAttachment"] for status, b in answers if status == 200]
    lost = [(status, b) for status, b in answers if status != 200]
    assert len(won) == 1, answers
    assert won[0]["fixed_ips"][0]["ip_address"] == address
    message = f"The IP address {address} is already in use on subnet db-net-v4."
    assert lost == [(409, {"conflictingRequest": {"code": 409, "message": message}})] * 7
    holders = ok(cloud.req("GET", f"{NEUTRON}/ports?fixed_ips=ip_address%3D{address}"), 200)["ports"]
    assert [p["id"] for p in holders] == [won[0]["port_id"]]
    assert len(attachments(cloud, racing_server)) == 2
