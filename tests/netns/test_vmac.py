"""tinyvrrp `vmac on`: the RFC 5798 §7.3 virtual MAC on a macvlan,
vrrp4.VRID (00:00:5e:00:01:VRID) or vrrp6.VRID (00:00:5e:00:02:VRID),
mode bridge, carrying the VIPs and up only while master. Each test runs
for IPv4 and IPv6.

Bounds are generous: they fail on a real bug (a MAC change the client
sees, a backup that answers, a leftover interface), not on a slow machine.
"""

import time

import pytest

from lab import (Lab, assert_steady, explain, frr_macvlan, is_announcement,
                 missing_prerequisites, tinyvrrp_macvlan, virtual_mac, wait_until)

MISSING = missing_prerequisites()

ELECTION_TIMEOUT = 8.0
VRID = 51
FAMILIES = [4, 6]


def vip_of(lab, family):
    return lab.vip() if family == 4 else lab.vip6()


def vips_of(lab, family):
    """Every VIP of the instance, as `ip` prints them."""
    return [lab.vip()] if family == 4 else [lab.vip6_ll(), lab.vip6()]


def advert_source(lab, router, family):
    return lab.router_ip(router) if family == 4 else lab.router_ll(router)


def macvlan_state(lab, router, family) -> str:
    """'absent', 'down' or 'up' (admin state) of tinyvrrp's macvlan."""
    link = lab.link(router, tinyvrrp_macvlan(VRID, family))
    if link is None:
        return "absent"
    return "up" if "UP" in link["flags"] else "down"


def assert_macvlan(lab, router, family, state):
    """The macvlan is in `state`; if it exists, it is a bridge-mode macvlan
    on eth0 with the virtual MAC and the VIPs."""
    name = tinyvrrp_macvlan(VRID, family)
    assert macvlan_state(lab, router, family) == state, \
        f"router {router}'s {name} is {macvlan_state(lab, router, family)}, want {state}\n" \
        + explain(lab)
    if state == "absent":
        return
    link = lab.link(router, name)
    info = link.get("linkinfo", {})
    assert info.get("info_kind") == "macvlan", link
    assert info.get("info_data", {}).get("mode") == "bridge", link
    assert link["address"] == virtual_mac(VRID, family), link
    assert link.get("link") == "eth0", link
    if state == "up":
        carried = lab.addresses(router, family=family, dev=name)
        assert all(v in carried for v in vips_of(lab, family)), (name, carried)


def assert_no_vips_on_eth0(lab, router, family):
    left = [v for v in vips_of(lab, family) if v in lab.addresses(router, family=family)]
    assert left == [], f"with vmac the VIPs live on the macvlan, not eth0: {left}"


@pytest.mark.parametrize("family", FAMILIES)
def test_clients_neighbour_entry_keeps_the_virtual_mac_across_failover(family):
    with Lab(routers=2) as lab:
        vip, vmac = vip_of(lab, family), virtual_mac(VRID, family)
        nodes = {1: lab.tinyvrrp(1, family=family, priority=150, vmac=True),
                 2: lab.tinyvrrp(2, family=family, priority=100, vmac=True)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_macvlan(lab, 1, family, "up")
        assert_macvlan(lab, 2, family, "down")
        assert_no_vips_on_eth0(lab, 1, family)
        lab.flush_neighbours()
        assert lab.ping(vip), f"the client cannot reach {vip}"
        # Resolved afresh: the answer came from the macvlan, not eth0.
        assert lab.neighbour_mac(vip) == vmac, \
            f"the client resolved {vip} to {lab.neighbour_mac(vip)}, not {vmac} " \
            f"(router 1's eth0 is {lab.mac(1)})"
        assert nodes[1].status()["family"] == f"ipv{family}"

        assert nodes[1].terminate() == 0
        assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_macvlan(lab, 2, family, "up")
        assert_macvlan(lab, 1, family, "absent")
        for _ in range(5):
            assert lab.neighbour_mac(vip) == vmac, lab.neighbour(vip)
            assert lab.ping(vip), f"the client cannot reach {vip} on router 2"
            time.sleep(0.2)

        nodes[1] = lab.tinyvrrp(1, family=family, priority=150, vmac=True)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), "preemption back:\n" + explain(lab)
        assert_macvlan(lab, 2, family, "down")
        assert_steady(lab, 1, vip=vip)
        assert lab.neighbour_mac(vip) == vmac, lab.neighbour(vip)


@pytest.mark.parametrize("family", FAMILIES)
def test_wire_carries_the_virtual_mac_and_the_backup_answers_nothing(family):
    """Adverts and announcements leave with the virtual MAC as Ethernet
    source (the IP source stays the router's own); each of the client's
    ARP requests / Neighbor Solicitations for a VIP gets one answer, from
    the virtual MAC: not from the backup, nor from the master's eth0."""
    with Lab(routers=2) as lab:
        vip, vmac = vip_of(lab, family), virtual_mac(VRID, family)
        with lab.capture() as capture:
            lab.tinyvrrp(1, family=family, priority=150, vmac=True)
            assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
            lab.tinyvrrp(2, family=family, priority=100, vmac=True)
            time.sleep(1.5)
            assert_macvlan(lab, 2, family, "down")
            for _ in range(3):
                lab.flush_neighbours()
                assert lab.ping(vip), f"the client cannot reach {vip}"
            time.sleep(0.3)
        events = capture.events()
        adverts = [e for e in events if e.kind == "vrrp"]
        assert adverts and {e.src for e in adverts} == {advert_source(lab, 1, family)}, \
            f"adverts from {sorted({e.src for e in adverts})}: router 2 is not a backup"
        wrong = [e.src_mac for e in adverts if e.src_mac != vmac]
        assert wrong == [], f"adverts with Ethernet source {set(wrong)}, not {vmac}"
        announcements = [e for e in events if is_announcement(e, vip)]
        assert announcements, f"no gratuitous ARP / unsolicited NA for {vip}"
        assert all(e.src_mac == vmac for e in announcements), announcements
        if family == 6:
            assert all(e.lladdr == vmac and e.router and e.override for e in announcements), \
                announcements
        client = lab.client_mac()
        if family == 4:
            asked = [e for e in events if e.kind == "arp" and e.arp_op == 1
                     and e.target == vip and e.src_mac == client]
            answers = [e for e in events if e.kind == "arp" and e.arp_op == 2 and e.src == vip
                       and e.dst_mac == client]
        else:
            asked = [e for e in events if e.kind == "ns" and e.target == vip
                     and e.src_mac == client]
            answers = [e for e in events if e.kind == "na" and e.target == vip and e.solicited
                       and e.dst_mac == client]
        assert len(asked) >= 3, f"the client asked for {vip} {len(asked)} times"
        strangers = sorted({e.src_mac for e in answers} - {vmac})
        assert strangers == [], \
            f"answers for {vip} from {strangers} (router 1 eth0 {lab.mac(1)}, " \
            f"router 2 eth0 {lab.mac(2)}), not only {vmac}"
        assert len(answers) <= len(asked), \
            f"{len(answers)} answers to {len(asked)} questions: the backup answered too"


@pytest.mark.parametrize("family", FAMILIES)
def test_macvlan_is_removed_on_sigterm_and_a_kill9_leftover_is_recreated(family):
    with Lab(routers=2) as lab:
        vip = vip_of(lab, family)
        name = tinyvrrp_macvlan(VRID, family)
        nodes = {1: lab.tinyvrrp(1, family=family, priority=150, vmac=True),
                 2: lab.tinyvrrp(2, family=family, priority=100, vmac=True)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        leftover = lab.link(1, name)
        assert leftover is not None, explain(lab)

        nodes[1].kill9()
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
        assert macvlan_state(lab, 1, family) == "up", "kill -9 should leave the macvlan up"

        # Back without preempt: a backup, whose macvlan is a new one and down.
        nodes[1] = lab.tinyvrrp(1, family=family, priority=150, preempt=False, vmac=True)
        assert wait_until(lambda: (lab.link(1, name) or leftover)["ifindex"] != leftover["ifindex"],
                          5.0), f"the leftover {name} was not re-created\n" + explain(lab)
        assert wait_until(lambda: macvlan_state(lab, 1, family) == "down", 3.0), explain(lab)
        assert_macvlan(lab, 1, family, "down")
        assert_steady(lab, 2, vip=vip)
        assert nodes[1].status()["state"] == "BACKUP"

        # SIGTERM removes it, backup or master.
        assert nodes[1].terminate() == 0
        assert_macvlan(lab, 1, family, "absent")
        assert nodes[2].terminate() == 0
        assert_macvlan(lab, 2, family, "absent")
        assert lab.holders(vip) == [], explain(lab)
        for router in (1, 2):
            assert_no_vips_on_eth0(lab, router, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_link_loss_takes_the_macvlan_down_and_link_up_preempts_back(family):
    with Lab(routers=2) as lab:
        vip, vmac = vip_of(lab, family), virtual_mac(VRID, family)
        nodes = {1: lab.tinyvrrp(1, family=family, priority=150, vmac=True),
                 2: lab.tinyvrrp(2, family=family, priority=100, vmac=True)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        lab.set_port(1, up=False)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert nodes[1].status()["state"] == "FAULT"
        assert macvlan_state(lab, 1, family) != "up", "a faulted router's macvlan stays up"
        lab.set_port(1, up=True)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_macvlan(lab, 1, family, "up")
        assert_macvlan(lab, 2, family, "down")
        assert_steady(lab, 1, vip=vip)
        assert lab.neighbour_mac(vip) == vmac


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("tinyvrrp_role", ["master", "backup"])
def test_frr_pairs_with_tinyvrrp_vmac(family, tinyvrrp_role):
    """FRR always uses the virtual MAC; with `vmac on` both sides answer
    with it: election, kill -9, preemption back and priority-0 handover,
    and the client's entry never changes."""
    kinds = {1: "tinyvrrp", 2: "frr"} if tinyvrrp_role == "master" else {1: "frr", 2: "tinyvrrp"}
    priorities = {1: 150, 2: 100}
    with Lab(routers=2) as lab:
        vip, vmac = vip_of(lab, family), virtual_mac(VRID, family)

        def start(router):
            extra = {"vmac": True} if kinds[router] == "tinyvrrp" else {}
            return getattr(lab, kinds[router])(router, family=family, priority=priorities[router],
                                               advert_ms=1000, **extra)

        def assert_client_on_vmac(when):
            assert wait_until(lambda: lab.ping(vip), 3.0), f"{vip} unreachable {when}"
            assert lab.neighbour_mac(vip) == vmac, f"{when}: {lab.neighbour(vip)}"

        nodes = {1: start(1), 2: start(2)}
        assert lab.wait_holder(1, 15.0, vip=vip), "election:\n" + explain(lab)
        assert_steady(lab, 1, vip=vip)
        lab.flush_neighbours()
        assert_client_on_vmac("after the election")
        ours = 1 if kinds[1] == "tinyvrrp" else 2
        assert_macvlan(lab, ours, family, "up" if ours == 1 else "down")
        assert lab.link(3 - ours, frr_macvlan(VRID, family))["address"] == vmac

        nodes[1].kill9()
        assert lab.wait_holder(2, 15.0, routers=[2], vip=vip), "kill -9 takeover:\n" + explain(lab)
        assert_client_on_vmac("after kill -9")

        nodes[1] = start(1)
        assert lab.wait_holder(1, 15.0, vip=vip), "preemption back:\n" + explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert_client_on_vmac("after preemption back")

        stopped_at = time.monotonic()
        nodes[1].terminate()
        assert lab.wait_holder(2, 15.0, vip=vip), "priority 0 handover:\n" + explain(lab)
        handover = time.monotonic() - stopped_at
        # Skew_Time (0.61 s here), not Master_Down_Interval (3.61 s).
        assert handover < 2.5, f"handover took {handover:.2f} s"
        assert_steady(lab, 2, routers=(2,), vip=vip)
        assert_client_on_vmac("after the handover")


@pytest.mark.parametrize("family", FAMILIES)
def test_interface_created_again_gets_its_macvlan_again(family):
    """netifd deletes and creates br-lan on a network restart; the macvlan
    goes with it and must come back on the new interface."""
    with Lab(routers=2) as lab:
        vip, vmac = vip_of(lab, family), virtual_mac(VRID, family)
        nodes = {1: lab.tinyvrrp(1, family=family, priority=150, vmac=True),
                 2: lab.tinyvrrp(2, family=family, priority=100, vmac=True)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        lab.delete_link(1)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
        assert_macvlan(lab, 1, family, "absent")
        lab.create_link(1)
        assert lab.wait_holder(1, 3 + ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert_macvlan(lab, 1, family, "up")
        assert_macvlan(lab, 2, family, "down")
        assert_steady(lab, 1, vip=vip)
        assert wait_until(lambda: lab.neighbour_mac(vip) == vmac, 3.0), lab.neighbour(vip)
        assert all(n.alive() for n in nodes.values())
