"""tinyvrrp on a real (namespaced) network: three routers and a client on
one bridge, and mixed pairs with keepalived.

Bounds are generous: they fail on a real bug (no takeover, two masters, a
takeover at Master_Down_Interval where Skew_Time was due), not on a slow
machine.
"""

import signal
import subprocess
import time

import pytest

from lab import Lab, missing_prerequisites, run, tinyvrrp_bin, timeline, wait_until

MISSING = missing_prerequisites()

PRIORITIES = {1: 150, 2: 120, 3: 100}
ELECTION_TIMEOUT = 5.0


def start_three(lab, **params):
    return {r: lab.tinyvrrp(r, priority=PRIORITIES[r], **params) for r in (1, 2, 3)}


def assert_single_master(lab, router, routers=None, samples=5):
    """Steady state: the VIP is on `router` only, for a while, and reachable."""
    for _ in range(samples):
        assert lab.holders(routers=routers) == [router]
        time.sleep(0.05)
    assert lab.ping(), "the client cannot reach the VIP"


def explain(nodes):
    return "\n".join(f"--- {n.kind} r{n.router} ---\n{n.log_tail()}" for n in nodes)


def test_highest_priority_wins_and_client_reaches_vip():
    with Lab() as lab:
        nodes = start_three(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        assert_single_master(lab, 1)
        assert all(n.alive() for n in nodes.values())


def test_kill9_master_next_priority_takes_over_with_garp():
    with Lab() as lab:
        nodes = start_three(lab, garp_delay_ms=1000)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        with lab.capture() as capture:
            time.sleep(0.3)
            nodes[1].kill9()
            assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2, 3]), explain(nodes.values())
            time.sleep(1.5)
        events = capture.events()
        line = timeline(events, lab.router_ip(1), lab.router_ip(2), lab.vip())
        assert line.new_first_advert is not None, "no advert from the new master"
        assert line.new_first_garp is not None, "no gratuitous ARP for the VIP"
        garps = [e.time for e in events
                 if e.kind == "arp" and e.src == lab.vip() and e.src_mac == lab.mac(2)]
        # keepalived's habit: 5 at once (garp-repeat), 5 more after garp-delay.
        first = [t for t in garps if t < line.new_first_garp + 0.5]
        second = [t for t in garps if t >= line.new_first_garp + 0.5]
        assert len(first) == 5 and len(second) == 5, garps
        assert 0.8 < second[0] - first[0] < 1.4, garps
        # RFC 5798 §6.4.2: takeover after Master_Down_Interval of router 2.
        expected = nodes[2].params.master_down_s()
        assert expected * 0.9 < line.gap < expected + 0.5, line
        # Every advert on the wire had TTL 255.
        assert all(e.ttl == 255 for e in events if e.kind == "vrrp")
        assert lab.ping()


def test_sigterm_sends_priority_zero_and_backup_takes_over_after_skew_time():
    with Lab() as lab:
        nodes = start_three(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        with lab.capture() as capture:
            time.sleep(0.3)
            assert nodes[1].terminate() == 0
            assert lab.wait_holder(2, ELECTION_TIMEOUT), explain(nodes.values())
            time.sleep(0.3)
        line = timeline(capture.events(), lab.router_ip(1), lab.router_ip(2), lab.vip())
        assert line.priority_zero is not None, "no priority-0 advert on SIGTERM"
        handover = line.new_first_advert - line.priority_zero
        skew = nodes[2].params.skew_s()
        master_down = nodes[2].params.master_down_s()
        # About Skew_Time (53 ms here), far below Master_Down_Interval (353 ms).
        assert skew * 0.5 < handover < master_down * 0.5, (handover, skew, master_down)
        # The stopped node released its VIP.
        assert lab.vip() not in lab.addresses(1)
        assert_single_master(lab, 2)


def test_many_vips_are_placed_announced_and_released_in_batches():
    """70 VIPs: three batches of address requests (32 per send). The new
    master holds and announces every one, and SIGTERM removes every one."""
    with Lab(routers=2) as lab:
        vips = [f"10.215.{lab.net}.{n}" for n in range(1, 71)]
        params = {"advert_ms": 100, "vips": [f"{v}/32" for v in vips]}
        nodes = {1: lab.tinyvrrp(1, priority=150, **params),
                 2: lab.tinyvrrp(2, priority=100, **params)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vips[-1]), explain(nodes.values())
        assert all(h == [1] for h in lab.holders_of(vips).values())
        with lab.capture(snaplen=128, buffer_kib=8192) as capture:
            time.sleep(0.2)
            nodes[1].kill9()
            assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vips[-1])
            time.sleep(0.3)
        assert set(vips) <= set(lab.addresses(2)), explain([nodes[2]])
        announced = {e.src for e in capture.events()
                     if e.kind == "arp" and e.src_mac == lab.mac(2) and e.src == e.target}
        assert set(vips) <= announced, sorted(set(vips) - announced)
        assert nodes[2].terminate() == 0
        assert not set(vips) & set(lab.addresses(2)), explain([nodes[2]])


def test_returning_higher_priority_preempts():
    with Lab() as lab:
        nodes = {r: lab.tinyvrrp(r, priority=PRIORITIES[r]) for r in (2, 3)}
        assert lab.wait_holder(2, ELECTION_TIMEOUT), explain(nodes.values())
        nodes[1] = lab.tinyvrrp(1, priority=150)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        assert_single_master(lab, 1)


def test_returning_higher_priority_without_preempt_stays_backup():
    with Lab() as lab:
        nodes = {r: lab.tinyvrrp(r, priority=PRIORITIES[r]) for r in (2, 3)}
        assert lab.wait_holder(2, ELECTION_TIMEOUT), explain(nodes.values())
        nodes[1] = lab.tinyvrrp(1, priority=150, preempt=False)
        # Many Master_Down_Intervals (0.34 s each) pass without a takeover.
        time.sleep(2.0)
        assert_single_master(lab, 2)
        assert nodes[1].alive()


def test_restart_after_kill9_removes_the_stale_vip():
    with Lab() as lab:
        nodes = start_three(lab)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        nodes[1].kill9()
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2, 3])
        assert lab.vip() in lab.addresses(1), "kill -9 should leave the VIP behind"
        nodes[1] = lab.tinyvrrp(1, priority=150, preempt=False)
        assert wait_until(lambda: lab.vip() not in lab.addresses(1), 2.0), explain([nodes[1]])
        assert_single_master(lab, 2)
        assert "removing stale" in nodes[1].log.read_text()


@pytest.mark.parametrize("version", [2, 3])
def test_v2_and_v3_at_one_second_elect_and_fail_over(version):
    with Lab() as lab:
        nodes = start_three(lab, version=version, advert_ms=1000)
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        assert_single_master(lab, 1)
        with lab.capture() as capture:
            nodes[1].kill9()
            assert lab.wait_holder(2, 6.0, routers=[2, 3]), explain(nodes.values())
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        assert adverts and all(e.version == version for e in adverts)
        assert lab.ping()


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("master", ["tinyvrrp", "keepalived"])
def test_mixed_pair_with_keepalived(version, master):
    """One tinyvrrp and one keepalived router: election, then kill -9 of the
    master and takeover by the other implementation."""
    backup = "keepalived" if master == "tinyvrrp" else "tinyvrrp"
    with Lab(routers=2) as lab:
        common = {"version": version, "advert_ms": 1000}
        nodes = {
            1: getattr(lab, master)(1, priority=150, **common),
            2: getattr(lab, backup)(2, priority=100, **common),
        }
        assert lab.wait_holder(1, 8.0), explain(nodes.values())
        assert_single_master(lab, 1)
        with lab.capture() as capture:
            time.sleep(1.5)
            killed_at = time.time()
            nodes[1].kill9()
            assert lab.wait_holder(2, 8.0, routers=[2]), explain(nodes.values())
            time.sleep(0.5)
        events = capture.events()
        line = timeline(events, lab.router_ip(1), lab.router_ip(2), lab.vip())
        assert line.gap is not None and line.gap < 6.0, line
        assert line.new_first_garp is not None
        assert lab.ping()
        # No two masters: the backup sent no advert while the master lived.
        early = [e for e in events if e.kind == "vrrp" and e.src == lab.router_ip(2)
                 and e.time < killed_at]
        assert early == [], early


def test_link_down_is_fault_backup_takes_over_and_link_up_preempts_back():
    with Lab(routers=2) as lab:
        nodes = {1: lab.tinyvrrp(1, priority=150), 2: lab.tinyvrrp(2, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        lab.set_port(1, up=False)
        # The faulted master drops the VIP itself; the backup, hearing
        # nothing, takes over after its Master_Down_Interval.
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes.values())
        assert wait_until(lambda: "entering FAULT" in nodes[1].log.read_text(), 2.0), explain([nodes[1]])
        assert nodes[1].status("interface")["link"] == "down"
        assert nodes[1].status()["state"] == "FAULT"
        assert lab.ping(), "the client cannot reach the VIP on the backup"
        lab.set_port(1, up=True)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes.values())
        assert_single_master(lab, 1, routers=[1, 2])
        log = nodes[1].log.read_text()
        assert log.count("entering MASTER") == 2 and log.count("entering FAULT") == 1, log
        assert all(n.alive() for n in nodes.values())


def test_interface_deleted_and_created_again_is_reattached_without_a_restart():
    with Lab(routers=2) as lab:
        nodes = {1: lab.tinyvrrp(1, priority=150), 2: lab.tinyvrrp(2, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        lab.delete_link(1)
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2]), explain(nodes.values())
        assert wait_until(lambda: "entering FAULT" in nodes[1].log.read_text(), 2.0), explain([nodes[1]])
        # Up at once, its address only later: attached once it has one.
        lab.create_link(1, address=False)
        time.sleep(1.5)
        # A reload meanwhile (LuCI applies network and VRRP changes together)
        # cannot resolve eth0 yet; it waits for the re-attach, then applies.
        nodes[1].config.write_text(nodes[1].config.read_text().replace("priority 150", "priority 160"))
        nodes[1].signal(1)
        assert wait_until(lambda: "trying again once the re-created interface is attached"
                          in nodes[1].log.read_text(), 2.0), explain([nodes[1]])
        lab.add_address(1)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes.values())
        assert_single_master(lab, 1, routers=[1, 2])
        log = nodes[1].log.read_text()
        # Said once, however many times it was tried.
        assert log.count("cannot attach to the new interface yet") == 1, log
        assert "attached" in log and log.count("entering FAULT") == 1, log
        # The reload changed the priority in place: no restart of the instance.
        assert "removed by reload" not in log, log
        status = nodes[1].status()
        assert status["state"] == "MASTER" and status["priority"] == "160", status
        # The master's VIP went with the deleted interface: nothing to retry.
        assert "retrying" not in log, log


def test_a_renamed_interface_is_left_and_its_successor_takes_the_vip():
    with Lab(routers=2) as lab:
        nodes = {1: lab.tinyvrrp(1, priority=150), 2: lab.tinyvrrp(2, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        ns = lab.router_ns(1)

        def old0_addresses():
            out = run("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "old0").stdout
            return [line.split()[3].split("/")[0] for line in out.splitlines()]

        # eth0 lives on as old0, up on its old switch port: router 1 is
        # master there again before a new eth0 appears.
        run("ip", "-n", ns, "link", "set", "eth0", "down")
        run("ip", "-n", ns, "link", "set", "eth0", "name", "old0")
        run("ip", "-n", ns, "link", "set", "old0", "up")
        assert wait_until(lambda: lab.vip() in old0_addresses(), ELECTION_TIMEOUT), \
            explain(nodes.values())
        lab.create_link(1, port="p0new")
        # The instance follows the name: it leaves old0, VIP and all, and
        # takes the VIP on the new eth0.
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes.values())
        assert_single_master(lab, 1, routers=[1, 2])
        assert lab.vip() not in old0_addresses()
        assert nodes[1].terminate() == 0
        assert lab.vip() not in old0_addresses() and lab.vip() not in lab.addresses(1)


def test_sighup_reload_changes_vips_and_priority_without_a_flap():
    with Lab(routers=2) as lab:
        nodes = {1: lab.tinyvrrp(1, priority=150), 2: lab.tinyvrrp(2, priority=100)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT), explain(nodes.values())
        # Both routers get the new VIP list at once here; one router at a
        # time is tests/netns/test_rollout.py.
        for node in nodes.values():
            text = node.config.read_text() + f"  vip {lab.vip(1)}/24\n"
            node.config.write_text(text.replace("priority 150", "priority 140"))
        with lab.capture() as capture:
            for node in nodes.values():
                node.signal(1)  # SIGHUP
            assert wait_until(lambda: lab.vip(1) in lab.addresses(1), 2.0), explain([nodes[1]])
            time.sleep(0.5)
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        assert {e.src for e in adverts} == {lab.router_ip(1)}, "router 2 took over during reload"
        assert adverts[-1].addresses == [lab.vip(), lab.vip(1)]
        assert adverts[-1].priority == 140
        log = nodes[1].log.read_text()
        assert log.count("entering MASTER") == 1, log
        assert lab.holders(vip=lab.vip(1)) == [1]
        # A broken config is refused and the running one stays.
        nodes[1].config.write_text("instance lan\n  colour blue\n")
        nodes[1].signal(1)
        assert wait_until(lambda: "keeping the running config" in nodes[1].log.read_text(), 2.0)
        assert nodes[1].alive()
        assert_single_master(lab, 1, routers=[1, 2])


def test_missing_interface_is_a_config_error_with_line_and_nothing_starts():
    with Lab(routers=1) as lab:
        conf = lab.dir / "bad.conf"
        conf.write_text("instance lan\n  interface nope0\n  vrid 9\n  vip 10.9.9.9\n")
        result = run("ip", "netns", "exec", lab.router_ns(1), tinyvrrp_bin(), "run",
                     "--config", str(conf), check=False)
        assert result.returncode == 2
        assert f"{conf}:2: interface 'nope0' does not exist" in result.stderr
        result = subprocess.run([tinyvrrp_bin(), "check", "--config", str(conf)],
                                capture_output=True, text=True)
        assert result.returncode == 0
        assert "instance lan: interface nope0, vrid 9" in result.stdout


def test_reload_moving_a_vip_from_a_removed_instance_to_a_kept_one_keeps_it_in_place():
    """Removed instances stop before kept ones take their new VIP lists:
    the VIP that moves is removed by the one and added by the other, never
    left out."""
    with Lab(routers=1) as lab:
        moving, kept = f"{lab.vip(1)}/24", f"{lab.vip(2)}/24"
        node = lab.tinyvrrp(1, instances=[
            lab.params(4, name="gone", vrid=1, vips=[moving]),
            lab.params(4, name="kept", vrid=2, vips=[kept]),
        ])
        assert wait_until(lambda: {lab.vip(1), lab.vip(2)} <= set(lab.addresses(1)), 8.0), \
            explain(lab.nodes)
        node.config.write_text(lab.params(4, name="kept", vrid=2, vips=[kept, moving])
                               .tinyvrrp_config())
        node.signal(signal.SIGHUP)
        assert wait_until(lambda: "reload: 1 instances running" in node.log.read_text(), 5.0), \
            explain(lab.nodes)
        for _ in range(5):
            assert {lab.vip(1), lab.vip(2)} <= set(lab.addresses(1)), explain(lab.nodes)
            time.sleep(0.1)
        assert node.status(name="kept")["state"] == "MASTER"


def test_preempt_delay_keeps_a_returning_router_backup_for_the_delay():
    with Lab(routers=2) as lab:
        lab.tinyvrrp(2, priority=100)
        assert lab.wait_holder(2, 8.0, routers=[1, 2]), explain(lab.nodes)
        started = time.monotonic()
        node = lab.tinyvrrp(1, priority=150, preempt_delay_ms=2000)
        assert lab.wait_holder(1, 10.0, routers=[1, 2]), explain(lab.nodes)
        took = time.monotonic() - started
        # Not before the delay; after it, within Master_Down_Interval and
        # a generous margin.
        assert 2.0 <= took < 2.0 + node.params.master_down_s() + 2.0, took
        assert lab.ping()
