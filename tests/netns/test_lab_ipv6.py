"""Controls for the lab's IPv6 and virtual-MAC helpers, run with daemons
that already speak IPv6 (keepalived 2.2.7, FRR vrrpd): when a tinyvrrp
IPv6 or vmac test fails, these say whether the lab itself still sees
holders, adverts, Neighbor Advertisements and the client's neighbour cache
right.
"""

import time

from lab import (ALL_NODES6, MULTICAST_GROUP6, Lab, explain, frr_macvlan, frr_macvlan_ll,
                 missing_prerequisites, run, timeline, virtual_mac, wait_until)

MISSING = missing_prerequisites()


def test_holders_count_a_macvlan_only_while_it_is_up_and_not_protodown():
    with Lab(routers=1) as lab:
        ns, vip = lab.router_ns(1), lab.vip6()
        run("ip", "-n", ns, "link", "add", "vm0", "link", "eth0", "type", "macvlan", "mode", "bridge")
        run("ip", "-n", ns, "addr", "add", f"{vip}/64", "dev", "vm0", "nodad")
        run("ip", "-n", ns, "addr", "add", f"{lab.vip()}/24", "dev", "vm0")
        assert lab.holders(vip) == [] and lab.holders() == [], "a down macvlan holds nothing"
        run("ip", "-n", ns, "link", "set", "vm0", "up")
        assert lab.holders(vip) == [1] and lab.holders() == [1]
        run("ip", "-n", ns, "link", "set", "vm0", "protodown", "on")
        assert lab.holders(vip) == [], "a protodown macvlan (FRR's backup) holds nothing"
        run("ip", "-n", ns, "link", "del", "vm0")
        run("ip", "-n", ns, "addr", "add", f"{vip}/64", "dev", "eth0", "nodad")
        assert lab.holders(vip) == [1] and lab.holders("2001:db8:1:0::100") == [1]
        assert lab.ping6(), "the client cannot reach an IPv6 address on eth0"
        assert lab.ping(lab.router_ll(1)) and lab.ping(lab.router_ip6(1))


def test_keepalived_ipv6_pair_fails_over_as_the_lab_sees_it():
    """Adverts from the link-local source with hop limit 255, unsolicited
    NAs with R and O, and a client whose neighbour entry moves to the new
    master without any traffic of its own."""
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        nodes = {1: lab.keepalived(1, family=6, priority=150, advert_ms=100),
                 2: lab.keepalived(2, family=6, priority=100, advert_ms=100)}
        assert lab.wait_holder(1, 10.0, vip=vip), explain(lab)
        assert lab.holders(lab.vip6_ll()) == [1], explain(lab)
        assert lab.ping6() and lab.ping(lab.vip6_ll())
        assert lab.neighbour_mac(vip) == lab.mac(1)
        with lab.capture() as capture:
            time.sleep(0.5)
            nodes[1].kill9()
            assert lab.wait_holder(2, 10.0, routers=[2], vip=vip), explain(lab)
            # No ping meanwhile: only the NA can have moved the entry.
            assert wait_until(lambda: lab.neighbour_mac(vip) == lab.mac(2), 3.0), lab.neighbour(vip)
            time.sleep(0.3)
        events = capture.events()
        adverts = [e for e in events if e.kind == "vrrp"]
        assert {e.src for e in adverts} == {lab.router_ll(1), lab.router_ll(2)}, adverts
        assert all(e.family == 6 and e.dst == MULTICAST_GROUP6 and e.ttl == 255 and e.version == 3
                   and e.addresses == [lab.vip6_ll(), vip] for e in adverts), adverts
        line = timeline(events, lab.router_ll(1), lab.router_ll(2), vip)
        assert line.gap is not None and line.new_first_garp is not None, line
        nas = [e for e in events if e.kind == "na" and e.target == vip and not e.solicited]
        assert nas and all(e.router and e.override and e.dst == ALL_NODES6 and e.ttl == 255
                           and e.src_mac == e.lladdr == lab.mac(2) for e in nas), nas
        assert lab.ping6()


def test_frr_ipv6_pair_on_its_protodown_macvlan():
    """FRR keeps the IPv6 VIPs on a macvlan with 00:00:5e:00:02:VRID and
    its own link-local (the advert source); the lab sees the holder by
    protodown, and the client's entry names the virtual MAC throughout."""
    with Lab(routers=2) as lab:
        vip, vmac = lab.vip6(), virtual_mac(51, 6)
        nodes = {1: lab.frr(1, family=6, priority=150, advert_ms=1000),
                 2: lab.frr(2, family=6, priority=100, advert_ms=1000)}
        assert lab.wait_holder(1, 15.0, vip=vip), explain(lab)
        assert lab.link(2, frr_macvlan(51, 6))["proto_down"], explain(lab)
        assert lab.ping6() and lab.neighbour_mac(vip) == vmac, lab.neighbour(vip)
        with lab.capture() as capture:
            time.sleep(1.5)
            nodes[1].kill9()
            assert lab.wait_holder(2, 15.0, routers=[2], vip=vip), explain(lab)
            time.sleep(2.5)  # two advert intervals of the new master
        events = capture.events()
        adverts = [e for e in events if e.kind == "vrrp"]
        assert {e.src for e in adverts} == {frr_macvlan_ll(1), frr_macvlan_ll(2)}, adverts
        assert all(e.src_mac == vmac and e.addresses == [lab.vip6_ll(), vip] for e in adverts)
        nas = [e for e in events if e.kind == "na" and e.target == vip and not e.solicited]
        assert nas and all(e.router and e.override and e.lladdr == vmac for e in nas), nas
        assert lab.ping6() and lab.neighbour_mac(vip) == vmac
