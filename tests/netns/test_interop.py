"""tinyvrrp with keepalived and FRR vrrpd on one segment: the scenario
matrix of elections and failovers in both roles and both versions, and the
protocol details that decide interop (v3 checksum form, v2 password,
unicast, a different advert interval).

Bounds are generous: they fail on a real bug (no takeover, two masters,
a priority-0 handover that waited Master_Down_Interval), not on a slow
machine.
"""

import time

import pytest

from lab import Lab, assert_steady, explain, missing_prerequisites, wait_until

MISSING = missing_prerequisites()

PEERS = ["keepalived", "frr"]


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("tinyvrrp_role", ["master", "backup"])
def test_mixed_pair(peer, version, tinyvrrp_role):
    """Election, kill -9 of the master, preemption back, then handover by
    priority 0 — with tinyvrrp as master or as backup."""
    kinds = {1: "tinyvrrp", 2: peer} if tinyvrrp_role == "master" else {1: peer, 2: "tinyvrrp"}
    common = {"version": version, "advert_ms": 1000}
    priorities = {1: 150, 2: 100}
    with Lab(routers=2) as lab:
        def start(router):
            return getattr(lab, kinds[router])(router, priority=priorities[router], **common)

        nodes = {1: start(1), 2: start(2)}
        assert lab.wait_holder(1, 10.0), "election:\n" + explain(lab)
        assert_steady(lab, 1)

        nodes[1].kill9()
        assert lab.wait_holder(2, 10.0, routers=[2]), "kill -9 takeover:\n" + explain(lab)
        assert wait_until(lambda: lab.ping(), 3.0), "VIP unreachable after kill -9"

        nodes[1] = start(1)
        assert lab.wait_holder(1, 10.0), "preemption back:\n" + explain(lab)
        assert_steady(lab, 1)

        with lab.capture() as capture:
            time.sleep(0.5)
            stopped_at = time.monotonic()
            nodes[1].terminate()
            assert lab.wait_holder(2, 10.0), "priority 0 handover:\n" + explain(lab)
            handover = time.monotonic() - stopped_at
            time.sleep(0.3)
        zero = [e for e in capture.events()
                if e.kind == "vrrp" and e.src == lab.router_ip(1) and e.priority == 0]
        assert zero, f"{kinds[1]} sent no priority-0 advert"
        # RFC 5798 §6.4.2: Skew_Time (0.61 s here), not Master_Down_Interval (3.61 s).
        assert handover < 2.5, f"handover took {handover:.2f} s"
        assert_steady(lab, 2, routers=(2,))


@pytest.mark.parametrize("master", ["tinyvrrp", "keepalived"])
def test_v2_password_with_keepalived(master):
    backup = "keepalived" if master == "tinyvrrp" else "tinyvrrp"
    with Lab(routers=2) as lab:
        common = {"version": 2, "advert_ms": 1000, "auth_pass": "secret1"}
        nodes = {1: getattr(lab, master)(1, priority=150, **common),
                 2: getattr(lab, backup)(2, priority=100, **common)}
        assert lab.wait_holder(1, 10.0), explain(lab)
        assert_steady(lab, 1)
        nodes[1].kill9()
        assert lab.wait_holder(2, 10.0, routers=[2]), explain(lab)


def test_v2_password_mismatch_is_dropped_and_counted():
    with Lab(routers=2) as lab:
        lab.keepalived(1, priority=150, version=2, advert_ms=1000, auth_pass="secret1")
        assert lab.wait_holder(1, 10.0, routers=[1]), explain(lab)
        ours = lab.tinyvrrp(2, priority=100, version=2, advert_ms=1000, auth_pass="other")
        # Every advert from keepalived fails authentication: we never see a
        # master and take the VIP as well (RFC 3768 §7.1 drops them). Once we
        # send, keepalived 2.2.7 stops advertising: each invalid packet
        # re-arms its advert timer.
        assert wait_until(lambda: 2 in lab.holders(), 10.0), explain(lab)
        counters = ours.status()
        assert int(counters["auth-errors"]) >= 2 and counters["master"] == lab.router_ip(2)


@pytest.mark.parametrize("master", ["tinyvrrp", "keepalived"])
def test_unicast_with_keepalived_where_multicast_is_filtered(master):
    backup = "keepalived" if master == "tinyvrrp" else "tinyvrrp"
    with Lab(routers=2) as lab:
        lab.block_multicast()
        ip = {1: lab.router_ip(1), 2: lab.router_ip(2)}
        nodes = {
            1: getattr(lab, master)(1, priority=150, unicast_src=ip[1], unicast_peers=[ip[2]]),
            2: getattr(lab, backup)(2, priority=100, unicast_src=ip[2], unicast_peers=[ip[1]]),
        }
        assert lab.wait_holder(1, 8.0), explain(lab)
        assert_steady(lab, 1)
        nodes[1].kill9()
        assert lab.wait_holder(2, 8.0, routers=[2]), explain(lab)
        assert wait_until(lambda: lab.ping(), 3.0)


def test_filtered_multicast_really_splits_a_multicast_pair():
    """The control for the unicast tests: the filter does stop multicast."""
    with Lab(routers=2) as lab:
        lab.block_multicast()
        lab.tinyvrrp(1, priority=150)
        lab.tinyvrrp(2, priority=100)
        assert wait_until(lambda: lab.holders() == [1, 2], 8.0), explain(lab)


def test_unicast_ignores_a_router_that_is_not_a_peer():
    with Lab(routers=3) as lab:
        ip = {r: lab.router_ip(r) for r in (1, 2, 3)}
        lab.tinyvrrp(1, priority=150, unicast_peers=[ip[2]])
        ours = lab.tinyvrrp(2, priority=100, unicast_peers=[ip[1]])
        # Router 3 is not a peer: its multicast adverts at a higher priority
        # must not make router 2 step back or router 1 step down.
        lab.tinyvrrp(3, priority=200)
        assert wait_until(lambda: sorted(lab.holders()) == [1, 3], 8.0), explain(lab)
        assert int(ours.status()["not-a-peer-pkts"]) > 0


def test_v3_checksum_form_is_selectable_and_a_mismatch_is_counted():
    """FRR 8.4 (Debian 12) always includes the pseudo-header. As-v2 on our
    side: we still follow FRR's adverts but count them, and FRR drops ours;
    two routers that agree on as-v2 work together."""
    with Lab(routers=2) as lab:
        lab.frr(1, priority=150, advert_ms=100)
        ours = lab.tinyvrrp(2, priority=100, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0), explain(lab)
        assert_steady(lab, 1)
        counters = ours.status()
        assert int(counters["checksum-form-mismatches"]) > 0 and counters["state"] == "BACKUP"
        assert "sends v3 checksums with the pseudo-header" in ours.log.read_text()
    with Lab(routers=2) as lab:
        # The other way round FRR drops ours, as the warning says: two masters.
        lab.tinyvrrp(1, priority=150, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0), explain(lab)
        lab.frr(2, priority=100, advert_ms=100)
        assert wait_until(lambda: lab.holders() == [1, 2], 8.0), explain(lab)
    with Lab(routers=2) as lab:
        first = lab.tinyvrrp(1, priority=150, advert_ms=100, checksum_as_v2=True)
        second = lab.tinyvrrp(2, priority=100, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0), explain(lab)
        assert_steady(lab, 1)
        assert second.status()["checksum-form-mismatches"] == "0"
        first.kill9()
        assert lab.wait_holder(2, 8.0, routers=[2]), explain(lab)


def test_v3_backup_learns_a_slower_masters_interval():
    """RFC 5798 §6.4.2: a backup configured for 100 ms follows a 1 s
    master instead of declaring it dead after 0.36 s."""
    with Lab(routers=2) as lab:
        lab.keepalived(1, priority=150, advert_ms=1000)
        assert lab.wait_holder(1, 8.0, routers=[1]), explain(lab)
        ours = lab.tinyvrrp(2, priority=100, advert_ms=100)
        time.sleep(4)
        assert lab.holders() == [1], explain(lab)
        counters = ours.status()
        assert counters["state"] == "BACKUP" and counters["interval-errors"] == "0"


def test_v2_interval_mismatch_is_dropped_and_counted():
    """RFC 3768 §7.1: v2 adverts with another interval are discarded."""
    with Lab(routers=2) as lab:
        lab.keepalived(1, priority=150, version=2, advert_ms=1000)
        assert lab.wait_holder(1, 8.0, routers=[1]), explain(lab)
        ours = lab.tinyvrrp(2, priority=100, version=2, advert_ms=2000)
        assert wait_until(lambda: 2 in lab.holders(), 12.0), explain(lab)
        assert int(ours.status()["interval-errors"]) >= 3
