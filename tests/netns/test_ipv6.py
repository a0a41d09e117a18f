"""tinyvrrp over IPv6 (RFC 5798): the IPv4 scenarios of test_failover.py
and test_interop.py with IPv6 VIPs, the wire details of IPv6 (adverts to
ff02::12 from eth0's link-local, unsolicited Neighbor Advertisements), the
client's `ping -6` and neighbour cache, and an IPv4 and an IPv6 instance on
one VRID.

Every IPv6 instance has the lab's VIPs fe80::1/64 (first: RFC 5798 §5.2.9
wants a link-local) and 2001:db8:1::100/64; routers advertise from
fe80::a:ROUTER. Bounds are generous: they fail on a real bug (no takeover,
two masters, a takeover at Master_Down_Interval where Skew_Time was due),
not on a slow machine.
"""

import re
import subprocess
import time

import pytest

from lab import (ALL_NODES6, MULTICAST_GROUP6, Lab, assert_steady, explain,
                 missing_prerequisites, timeline, tinyvrrp_bin, wait_until)

MISSING = missing_prerequisites()

PRIORITIES = {1: 150, 2: 120, 3: 100}
ELECTION_TIMEOUT = 8.0


def start_three(lab, **params):
    return {r: lab.tinyvrrp(r, family=6, priority=PRIORITIES[r], **params) for r in (1, 2, 3)}


def vip_addresses(lab):
    """Both IPv6 VIPs, as `ip` prints them."""
    return [lab.vip6_ll(), lab.vip6()]


def assert_vips_gone(lab, router):
    left = [a for a in vip_addresses(lab) if a in lab.addresses(router, family=6)]
    assert left == [], f"router {router} still has {left}\n" + explain(lab)


def unsolicited_nas(events, vip, src_mac=None):
    return [e for e in events if e.kind == "na" and e.target == vip and not e.solicited
            and (src_mac is None or e.src_mac == src_mac)]


def test_highest_priority_wins_and_adverts_are_rfc5798_ipv6():
    with Lab() as lab:
        with lab.capture() as capture:
            nodes = start_three(lab)
            assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=lab.vip6()), explain(lab)
            time.sleep(0.5)
        assert_steady(lab, 1, routers=(1, 2, 3), vip=lab.vip6())
        assert lab.holders(lab.vip6_ll()) == [1], explain(lab)
        assert lab.ping(lab.vip6_ll()), "the client cannot reach the link-local VIP"
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        assert adverts, "no IPv6 advert on the wire"
        # RFC 5798 §5.1.2: from the link-local of the sending interface, to
        # ff02::12, hop limit 255; §5.2.9: the link-local VIP first.
        for e in adverts:
            assert e.family == 6 and e.version == 3 and e.vrid == 51, e
            assert e.dst == MULTICAST_GROUP6 and e.ttl == 255, e
            assert e.src in {lab.router_ll(r) for r in (1, 2, 3)}, f"advert source {e.src}"
            assert e.addresses == vip_addresses(lab), e.addresses
        master = [e for e in adverts if e.src == lab.router_ll(1)]
        assert master and all(e.priority == 150 and e.interval == 10
                              and e.src_mac == lab.mac(1) for e in master), master
        status = nodes[1].status()
        assert status["family"] == "ipv6" and status["state"] == "MASTER", status
        assert status["master"] == lab.router_ll(1), status
        assert nodes[2].status()["state"] == "BACKUP"
        assert all(n.alive() for n in nodes.values())


def test_kill9_master_next_priority_takes_over_with_unsolicited_na():
    with Lab() as lab:
        vip = lab.vip6()
        nodes = start_three(lab, garp_delay_ms=1000)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert lab.ping6(), "the client cannot reach the IPv6 VIP"
        assert lab.neighbour_mac(vip) == lab.mac(1), lab.neighbour(vip)
        with lab.capture() as capture:
            time.sleep(0.3)
            nodes[1].kill9()
            assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2, 3], vip=vip), explain(lab)
            # The client sends nothing meanwhile: only an unsolicited NA
            # (O flag) can move its entry to the new master before it expires.
            assert wait_until(lambda: lab.neighbour_mac(vip) == lab.mac(2), 3.0), \
                f"the client's entry for {vip} still names {lab.neighbour(vip)}, " \
                f"not the new master {lab.mac(2)}\n" + explain(lab)
            time.sleep(1.5)
        entry = lab.neighbour(vip)
        assert "router" in entry, f"the NA's R flag did not mark the VIP a router: {entry}"
        events = capture.events()
        line = timeline(events, lab.router_ll(1), lab.router_ll(2), vip)
        assert line.new_first_advert is not None, "no advert from the new master"
        assert line.new_first_garp is not None, "no unsolicited NA for the VIP"
        # RFC 5798 §6.4.2: takeover after Master_Down_Interval of router 2.
        expected = nodes[2].params.master_down_s()
        assert expected * 0.9 < line.gap < expected + 0.5, line
        for target in vip_addresses(lab):
            nas = [e.time for e in unsolicited_nas(events, target, lab.mac(2))]
            # garp-repeat (5) at once and as many again after garp-delay (1 s here).
            first = [t for t in nas if t < nas[0] + 0.5] if nas else []
            second = [t for t in nas if t >= nas[0] + 0.5] if nas else []
            assert len(first) == 5 and len(second) == 5, (target, nas)
            assert 0.8 < second[0] - first[0] < 1.4, (target, nas)
        assert all(e.ttl == 255 for e in events if e.kind == "vrrp")
        assert lab.ping6()


def test_unsolicited_na_has_r_and_o_flags_and_the_senders_mac():
    """RFC 5798 §6.4.2 / RFC 4861 §7.2.6: Router and Override set,
    Solicited clear, to all-nodes, hop limit 255, with a target link-layer
    address option naming the sender's MAC — one per VIP."""
    with Lab(routers=2) as lab:
        with lab.capture() as capture:
            lab.tinyvrrp(1, family=6, priority=150)
            assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=lab.vip6()), explain(lab)
            time.sleep(0.5)
        events = capture.events()
        for target in vip_addresses(lab):
            nas = unsolicited_nas(events, target)
            assert nas, f"no unsolicited NA for {target} on the wire"
            for e in nas:
                assert e.router and e.override and not e.solicited, \
                    f"NA for {target}: R={e.router} S={e.solicited} O={e.override}"
                assert e.dst == ALL_NODES6 and e.ttl == 255, (e.dst, e.ttl)
                assert e.src_mac == lab.mac(1), f"NA from {e.src_mac}, not eth0 {lab.mac(1)}"
                assert e.lladdr == lab.mac(1), f"target link-layer option {e.lladdr!r}"


def test_sigterm_sends_priority_zero_and_backup_takes_over_after_skew_time():
    with Lab() as lab:
        vip = lab.vip6()
        nodes = start_three(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        with lab.capture() as capture:
            time.sleep(0.3)
            assert nodes[1].terminate() == 0, explain(lab)
            assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
            time.sleep(0.3)
        line = timeline(capture.events(), lab.router_ll(1), lab.router_ll(2), vip)
        assert line.priority_zero is not None, "no priority-0 advert on SIGTERM"
        assert line.new_first_advert is not None, "no advert from the new master"
        handover = line.new_first_advert - line.priority_zero
        skew = nodes[2].params.skew_s()
        master_down = nodes[2].params.master_down_s()
        # About Skew_Time (53 ms here), far below Master_Down_Interval (353 ms).
        assert skew * 0.5 < handover < master_down * 0.5, (handover, skew, master_down)
        assert_vips_gone(lab, 1)
        assert_steady(lab, 2, routers=(1, 2, 3), vip=vip)


def test_returning_higher_priority_preempts():
    with Lab() as lab:
        vip = lab.vip6()
        for r in (2, 3):
            lab.tinyvrrp(r, family=6, priority=PRIORITIES[r])
        assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
        lab.tinyvrrp(1, family=6, priority=150)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_steady(lab, 1, routers=(1, 2, 3), vip=vip)


def test_returning_higher_priority_without_preempt_stays_backup():
    with Lab() as lab:
        vip = lab.vip6()
        for r in (2, 3):
            lab.tinyvrrp(r, family=6, priority=PRIORITIES[r])
        assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
        node = lab.tinyvrrp(1, family=6, priority=150, preempt=False)
        time.sleep(2.0)
        assert_steady(lab, 2, routers=(1, 2, 3), vip=vip)
        assert node.alive() and node.status()["state"] == "BACKUP", explain(lab)


def test_restart_after_kill9_removes_the_stale_vips():
    with Lab() as lab:
        vip = lab.vip6()
        nodes = start_three(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        nodes[1].kill9()
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2, 3], vip=vip), explain(lab)
        left = lab.addresses(1, family=6)
        assert all(a in left for a in vip_addresses(lab)), f"kill -9 should leave the VIPs: {left}"
        nodes[1] = lab.tinyvrrp(1, family=6, priority=150, preempt=False)
        assert wait_until(lambda: not any(a in lab.addresses(1, family=6)
                                          for a in vip_addresses(lab)), 3.0), explain(lab)
        assert "removing stale" in nodes[1].log.read_text(), explain(lab)
        assert_steady(lab, 2, routers=(1, 2, 3), vip=vip)
        # eth0's own addresses are not VIPs and stay.
        assert {lab.router_ll(1), lab.router_ip6(1)} <= set(lab.addresses(1, family=6))


def test_link_down_is_fault_backup_takes_over_and_link_up_preempts_back():
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        nodes = {1: lab.tinyvrrp(1, family=6, priority=150),
                 2: lab.tinyvrrp(2, family=6, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        lab.set_port(1, up=False)
        # Carrier loss keeps IPv6 addresses in the kernel: the faulted
        # master must drop its VIPs itself.
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert_vips_gone(lab, 1)
        assert wait_until(lambda: "entering FAULT" in nodes[1].log.read_text(), 3.0), explain(lab)
        assert nodes[1].status("interface")["link"] == "down"
        status = nodes[1].status()
        assert status["state"] == "FAULT" and status["family"] == "ipv6", status
        assert lab.ping6(), "the client cannot reach the VIP on the backup"
        lab.set_port(1, up=True)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert wait_until(lambda: lab.neighbour_mac(vip) == lab.mac(1), 3.0), lab.neighbour(vip)
        log = nodes[1].log.read_text()
        assert log.count("entering MASTER") == 2 and log.count("entering FAULT") == 1, log
        assert all(n.alive() for n in nodes.values())


def test_a_link_local_still_in_dad_is_waited_for_in_fault():
    """At boot the link-local address is tentative for a while (DAD): the
    instance waits in FAULT and starts once it is usable, with no restart."""
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        backup = lab.tinyvrrp(2, family=6, priority=100)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
        ll = f"{lab.router_ll(1)}/64"
        lab.exec(1, "ip", "-6", "addr", "del", ll, "dev", "eth0")
        # Three DAD probes a second apart: tentative for about 3 s.
        lab.exec(1, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=1",
                 "net.ipv6.conf.eth0.dad_transmits=3")
        lab.exec(1, "ip", "-6", "addr", "add", ll, "dev", "eth0")
        assert "tentative" in lab.exec(1, "ip", "-6", "addr", "show", "dev", "eth0").stdout
        node = lab.tinyvrrp(1, family=6, priority=150)
        assert wait_until(lambda: "no ipv6 link-local address yet" in node.log.read_text(), 3.0), \
            explain(lab)
        status = node.status()
        assert status["state"] == "FAULT", status
        assert lab.holders(vip, routers=[1, 2]) == [2], explain(lab)
        # Usable after DAD: attached, then it preempts the lower priority.
        assert lab.wait_holder(1, 6 + ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert node.status("interface")["primary"] == lab.router_ll(1)
        assert node.alive() and backup.alive()


def test_interface_deleted_and_created_again_is_reattached_when_its_link_local_comes():
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        nodes = {1: lab.tinyvrrp(1, family=6, priority=150),
                 2: lab.tinyvrrp(2, family=6, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        lab.delete_link(1)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
        lab.create_link(1, address=False)
        time.sleep(1.5)
        assert lab.holders(vip, routers=[1, 2]) == [2], explain(lab)
        lab.add_address(1)
        assert lab.wait_holder(1, 3 + ELECTION_TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert all(n.alive() for n in nodes.values())


def start_unicast_pair(lab, kinds):
    ll = {1: lab.router_ll(1), 2: lab.router_ll(2)}
    return {r: getattr(lab, kinds[r])(r, family=6, priority={1: 150, 2: 100}[r],
                                      unicast_src=ll[r], unicast_peers=[ll[3 - r]])
            for r in (1, 2)}


@pytest.mark.parametrize("backup", ["tinyvrrp", "keepalived"])
def test_unicast_peers_over_ipv6_where_multicast_is_filtered(backup):
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        lab.block_multicast()
        nodes = start_unicast_pair(lab, {1: "tinyvrrp", 2: backup})
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        nodes[1].kill9()
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
        assert wait_until(lambda: lab.ping6(), 3.0)


def test_keepalived_ipv6_unicast_adverts_with_hop_limit_64_are_dropped_and_counted():
    """keepalived 2.2.7 sends IPv6 unicast adverts with hop limit 64.
    RFC 5798 §5.1.2.3 wants 255 and §7.1 has the receiver discard any
    other: our backup counts them under ip-ttl-errors and, hearing no valid
    advert, becomes master too (README, Interop)."""
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        lab.block_multicast()
        with lab.capture() as capture:
            nodes = start_unicast_pair(lab, {1: "keepalived", 2: "tinyvrrp"})
            assert wait_until(lambda: lab.holders(vip) == [1, 2], ELECTION_TIMEOUT), explain(lab)
        theirs = [e for e in capture.events() if e.kind == "vrrp" and e.src == lab.router_ll(1)]
        assert theirs and {e.ttl for e in theirs} == {64}, theirs[:3]
        link = nodes[2].status("interface")
        assert int(link["ip-ttl-errors"]) > 0, link
        assert nodes[2].status()["advertisement-rcvd"] == "0"


def test_filtered_ipv6_multicast_really_splits_a_multicast_pair():
    """The control for the unicast test: the filter does stop ff02::12."""
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        lab.block_multicast()
        lab.tinyvrrp(1, family=6, priority=150)
        lab.tinyvrrp(2, family=6, priority=100)
        assert wait_until(lambda: lab.holders(vip) == [1, 2], ELECTION_TIMEOUT), explain(lab)


def test_sighup_reload_changes_vips_and_priority_without_a_flap():
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        nodes = {1: lab.tinyvrrp(1, family=6, priority=150),
                 2: lab.tinyvrrp(2, family=6, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        # Both routers get the new VIP list at once (RFC 5798 §7.1 drops
        # adverts whose list differs), as an operator would roll it.
        for node in nodes.values():
            text = node.config.read_text() + f"  vip {lab.vip6(1)}/64\n"
            node.config.write_text(text.replace("priority 150", "priority 140"))
        with lab.capture() as capture:
            for node in nodes.values():
                node.signal(1)  # SIGHUP
            assert wait_until(lambda: lab.vip6(1) in lab.addresses(1, family=6), 3.0), explain(lab)
            time.sleep(0.5)
        events = capture.events()
        adverts = [e for e in events if e.kind == "vrrp"]
        assert {e.src for e in adverts} == {lab.router_ll(1)}, "router 2 took over during reload"
        assert adverts[-1].addresses == [lab.vip6_ll(), vip, lab.vip6(1)], adverts[-1]
        assert adverts[-1].priority == 140
        assert unsolicited_nas(events, lab.vip6(1), lab.mac(1)), "no NA for the added VIP"
        assert nodes[1].log.read_text().count("entering MASTER") == 1, explain(lab)
        assert lab.holders(vip=lab.vip6(1)) == [1] and lab.ping6(lab.vip6(1))
        assert nodes[1].status()["priority"] == "140"
        # Removing a VIP by reload removes it from eth0.
        for node in nodes.values():
            node.config.write_text(node.config.read_text().replace(f"  vip {lab.vip6(1)}/64\n", ""))
            node.signal(1)
        assert wait_until(lambda: lab.vip6(1) not in lab.addresses(1, family=6), 3.0), explain(lab)
        # A config whose first IPv6 VIP is not link-local is refused, and
        # the running one stays.
        bad = nodes[1].config.read_text().replace(f"  vip {lab.vip6_ll()}/64\n", "")
        nodes[1].config.write_text(bad)
        nodes[1].signal(1)
        assert wait_until(lambda: "keeping the running config" in nodes[1].log.read_text(), 3.0), \
            explain(lab)
        assert nodes[1].alive()
        assert_steady(lab, 1, vip=vip)
        assert nodes[1].log.read_text().count("entering MASTER") == 1, explain(lab)


def test_notify_script_gets_keepalived_arguments():
    with Lab(routers=2) as lab:
        record = lab.dir / "notify.log"
        script = lab.dir / "notify.sh"
        script.write_text(f'#!/bin/sh\necho "$*" >> {record}\n')
        script.chmod(0o755)
        vip = lab.vip6()
        nodes = {1: lab.tinyvrrp(1, family=6, priority=150, name="lan6", notify=str(script))}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        nodes[2] = lab.tinyvrrp(2, family=6, priority=100, name="lan6")
        time.sleep(1.0)
        assert nodes[1].terminate() == 0
        assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)

        def lines():
            return record.read_text().splitlines() if record.exists() else []

        expected = ["INSTANCE lan6 BACKUP 150", "INSTANCE lan6 MASTER 150", "INSTANCE lan6 STOP 150"]
        assert wait_until(lambda: lines() == expected, 5.0), lines()


def test_uci_config_form_runs_an_ipv6_instance():
    with Lab(routers=2) as lab:
        vip = lab.vip6()
        ours = lab.tinyvrrp(1, family=6, priority=150, uci=True)
        assert ours.config.read_text().startswith("config instance 'lan'")
        lab.tinyvrrp(2, family=6, priority=100)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert ours.status()["family"] == "ipv6"
        # The two forms of one config read the same.
        tiny = lab.dir / "same.conf"
        tiny.write_text(ours.params.tinyvrrp_config())
        checked = [subprocess.run([tinyvrrp_bin(), "check", "--config", str(path)],
                                  capture_output=True, text=True) for path in (ours.config, tiny)]
        assert [c.returncode for c in checked] == [0, 0], checked
        assert checked[0].stdout == checked[1].stdout, checked


def check(tmp_path, text):
    conf = tmp_path / f"check-{time.monotonic_ns()}.conf"
    conf.write_text(text)
    result = subprocess.run([tinyvrrp_bin(), "check", "--config", str(conf)],
                            capture_output=True, text=True)
    return conf, result


def error_lines(conf, result) -> set[int]:
    return {int(n) for n in re.findall(rf"{re.escape(str(conf))}:(\d+):", result.stderr)}


def test_ipv6_config_errors_name_file_and_line(tmp_path):
    head = "instance lan6\n  interface eth0\n  vrid 51\n"
    # The first IPv6 VIP (line 4) is global: RFC 5798 §5.2.9 wants a link-local.
    conf, result = check(tmp_path, head + "  vip 2001:db8:1::100/64\n  vip fe80::1/64\n")
    assert result.returncode == 2 and error_lines(conf, result) == {4}, result
    # Version 2 (line 4) has no IPv6 (line 5).
    conf, result = check(tmp_path, head + "  version 2\n  vip fe80::1/64\n  advert 1s\n")
    assert result.returncode == 2 and error_lines(conf, result) & {4, 5}, result
    # One instance holds one family: an IPv4 VIP (line 5) after an IPv6 one.
    conf, result = check(tmp_path, head + "  vip fe80::1/64\n  vip 10.9.9.9/24\n")
    assert result.returncode == 2 and error_lines(conf, result) & {4, 5}, result
    # An IPv6 unicast peer (line 5) in an IPv4 instance.
    conf, result = check(tmp_path, head + "  vip 10.9.9.9/24\n  unicast-peer fe80::a:2\n")
    assert result.returncode == 2 and error_lines(conf, result) == {5}, result
    # An IPv4 and an IPv6 instance share VRID 51 on eth0: two virtual routers.
    conf, result = check(tmp_path, head + "  vip 10.9.9.9/24\ninstance lan6b\n  interface eth0\n"
                         "  vrid 51\n  vip fe80::1/64\n  vip 2001:db8:1::100/64\n  vmac on\n")
    assert result.returncode == 0, result
    assert len(result.stdout.strip().splitlines()) == 2, result.stdout


@pytest.mark.parametrize("peer", ["keepalived", "frr"])
@pytest.mark.parametrize("tinyvrrp_role", ["master", "backup"])
def test_mixed_pair_over_ipv6(peer, tinyvrrp_role):
    """Election, kill -9 of the master, preemption back, then handover by
    priority 0 — tinyvrrp as master or as backup, against keepalived 2.2.7
    or FRR vrrpd over IPv6. FRR sends from its macvlan's link-local and
    answers with the virtual MAC; the client reaches the VIP throughout."""
    kinds = {1: "tinyvrrp", 2: peer} if tinyvrrp_role == "master" else {1: peer, 2: "tinyvrrp"}
    priorities = {1: 150, 2: 100}
    with Lab(routers=2) as lab:
        vip = lab.vip6()

        def start(router):
            return getattr(lab, kinds[router])(router, family=6, priority=priorities[router],
                                               advert_ms=1000)

        nodes = {1: start(1), 2: start(2)}
        assert lab.wait_holder(1, 12.0, vip=vip), "election:\n" + explain(lab)
        assert_steady(lab, 1, vip=vip)

        nodes[1].kill9()
        assert lab.wait_holder(2, 12.0, routers=[2], vip=vip), "kill -9 takeover:\n" + explain(lab)
        assert wait_until(lambda: lab.ping6(), 3.0), "VIP unreachable after kill -9"

        nodes[1] = start(1)
        assert lab.wait_holder(1, 12.0, vip=vip), "preemption back:\n" + explain(lab)
        assert_steady(lab, 1, vip=vip)

        with lab.capture() as capture:
            time.sleep(0.5)
            stopped_at = time.monotonic()
            nodes[1].terminate()
            assert lab.wait_holder(2, 12.0, vip=vip), "priority 0 handover:\n" + explain(lab)
            handover = time.monotonic() - stopped_at
            time.sleep(0.3)
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        zero = [e for e in adverts if e.src == nodes[1].advert_source() and e.priority == 0]
        assert zero, f"{kinds[1]} sent no priority-0 advert: {adverts}"
        assert all(e.family == 6 and e.ttl == 255 for e in adverts), adverts
        # RFC 5798 §6.4.2: Skew_Time (0.61 s here), not Master_Down_Interval (3.61 s).
        assert handover < 2.5, f"handover took {handover:.2f} s"
        assert_steady(lab, 2, routers=(2,), vip=vip)
        if kinds[2] == "tinyvrrp":
            counters = nodes[2].status()
            assert counters["address-list-errors"] == "0", counters


def dual_stack(lab, router, priority):
    """tinyvrrp with an IPv4 instance and an IPv6 instance, both VRID 51 on eth0."""
    return lab.tinyvrrp(router, instances=[lab.params(4, name="lan4", priority=priority),
                                           lab.params(6, name="lan6", priority=priority)])


def test_dual_stack_one_vrid_two_virtual_routers_fail_over_on_their_own():
    with Lab(routers=2) as lab:
        v4, v6 = lab.vip(), lab.vip6()
        nodes = {1: dual_stack(lab, 1, 150), 2: dual_stack(lab, 2, 100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=v4), explain(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=v6), explain(lab)
        assert lab.ping() and lab.ping6()
        assert nodes[1].status(name="lan4")["family"] == "ipv4"
        assert nodes[1].status(name="lan6")["family"] == "ipv6"

        # Only the IPv6 router moves: its priority on router 1 drops below
        # router 2's; the IPv4 one must not notice.
        nodes[1].config.write_text(nodes[1].config.read_text().replace(
            "instance lan6\n  interface eth0\n  vrid 51\n  priority 150",
            "instance lan6\n  interface eth0\n  vrid 51\n  priority 50"))
        with lab.capture() as capture:
            nodes[1].signal(1)
            assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=v6), "IPv6 did not move:\n" + explain(lab)
            time.sleep(0.5)
        assert lab.holders(vip=v4) == [1], "the IPv4 router moved too:\n" + explain(lab)
        events = capture.events()
        adverts4 = [e for e in events if e.kind == "vrrp" and e.family == 4]
        adverts6 = [e for e in events if e.kind == "vrrp" and e.family == 6]
        assert adverts4 and {e.src for e in adverts4} == {lab.router_ip(1)}, adverts4
        assert {e.vrid for e in adverts4 + adverts6} == {51}
        assert adverts6[-1].src == lab.router_ll(2), adverts6[-1]
        assert nodes[1].status(name="lan4")["state"] == "MASTER"
        assert nodes[1].status(name="lan6")["state"] == "BACKUP"
        assert_steady(lab, 1, vip=v4)
        assert_steady(lab, 2, vip=v6)

        # Now only the IPv4 router moves: router 1 drops its IPv4 instance
        # by reload (priority 0, Skew_Time); IPv6 stays on router 2.
        text = nodes[1].config.read_text()
        nodes[1].config.write_text(text[text.index("instance lan6"):])
        nodes[1].signal(1)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=v4), "IPv4 did not move:\n" + explain(lab)
        assert lab.holders(vip=v6) == [2]
        assert nodes[1].status(name="lan6")["state"] == "BACKUP"
        assert all(n.alive() for n in nodes.values())
        assert lab.ping() and lab.ping6()

        # kill -9 of router 2: router 1's IPv6 instance takes over alone.
        nodes[2].kill9()
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1], vip=v6), explain(lab)
        assert lab.holders(vip=v4, routers=[1]) == [], "router 1 has no IPv4 instance any more"
