"""The address owner (RFC 5798 §6.4.1, priority 255) whose VIP is one of
its own interface addresses — here the second IPv4 address of eth0, as on
a router whose LAN address is the virtual router's. The address is the
router's, not the daemon's: it must never be removed, whatever the daemon
goes through.

Bounds are generous: they fail on a real bug, not on a slow machine.
"""

import subprocess
import time

from lab import Lab, explain, missing_prerequisites, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites()

TIMEOUT = 8.0


def watch_deletions(lab, router):
    """`ip monitor address` in the router's namespace for the whole test:
    a removal that is put back at once still shows as a Deleted line."""
    path = lab.dir / f"monitor-r{router}.log"
    proc = subprocess.Popen(["ip", "-n", lab.router_ns(router), "-o", "monitor", "address"],
                            stdout=open(path, "w"), stderr=subprocess.STDOUT)
    lab.captures.append(proc)  # killed with the lab
    time.sleep(0.3)
    return path


def deletions(path, address):
    return [line for line in path.read_text().splitlines()
            if line.startswith("Deleted") and f" {address}/" in line]


def test_owner_keeps_its_second_address_through_start_fault_reload_and_stop():
    with Lab(routers=2) as lab:
        owned = lab.vip(100)  # 10.213.NET.200, router 1's second address
        lab.add_ipv4(1, f"{owned}/24")
        assert lab.addresses(1) == [lab.router_ip(1), owned]
        monitor = watch_deletions(lab, 1)

        def assert_kept(when):
            assert owned in lab.addresses(1), f"{when}: router 1 lost {owned}\n" + explain(lab)
            gone = deletions(monitor, owned) + deletions(monitor, lab.router_ip(1))
            assert gone == [], f"{when}: an address was removed: {gone}\n" + explain(lab)

        owner = lab.tinyvrrp(1, priority=255, vips=[f"{owned}/24"])
        lab.tinyvrrp(2, priority=100, vips=[f"{owned}/24"])
        assert lab.wait_holder(1, TIMEOUT, vip=owned), explain(lab)
        assert wait_until(lambda: owner.status()["state"] == "MASTER", TIMEOUT), explain(lab)
        with lab.capture() as capture:
            time.sleep(0.5)
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        assert adverts and all(e.priority == 255 and e.src == lab.router_ip(1)
                               and e.addresses == [owned] for e in adverts), adverts
        assert lab.ping(owned)
        assert_kept("after start")

        # Link loss: FAULT, yet the address is the interface's own.
        lab.set_port(1, up=False)
        assert wait_until(lambda: "entering FAULT" in owner.log.read_text(), TIMEOUT), explain(lab)
        assert owner.status()["state"] == "FAULT"
        assert wait_until(lambda: 2 in lab.holders(owned), TIMEOUT), "router 2 did not take over"
        assert_kept("in FAULT")
        lab.set_port(1, up=True)
        assert lab.wait_holder(1, TIMEOUT, vip=owned), explain(lab)
        assert owner.status()["state"] == "MASTER"
        assert wait_until(lambda: lab.ping(owned), 3.0)
        assert_kept("after the link came back")

        # Reload with a changed advert interval: applied in place.
        owner.config.write_text(owner.config.read_text().replace("advert 100ms", "advert 200ms"))
        owner.signal(1)
        with lab.capture() as capture:
            time.sleep(1.5)
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        assert adverts and adverts[-1].interval == 20 and adverts[-1].priority == 255, adverts
        assert owner.log.read_text().count("entering MASTER") == 2, explain(lab)
        assert_kept("after SIGHUP")

        # SIGTERM: the owner hands over, and leaves its address alone.
        assert owner.terminate() == 0
        assert wait_until(lambda: 2 in lab.holders(owned), TIMEOUT), explain(lab)
        assert_kept("after SIGTERM")


def test_a_non_owner_whose_vip_is_the_interfaces_only_address_is_refused():
    """A backup would remove the address and leave the interface without
    one of that family: a file:line error at start, nothing changed."""
    with Lab(routers=1) as lab:
        ns = lab.router_ns(1)
        # eth0 has one IPv4 address and one link-local address.
        for family, vip in ((4, lab.router_ip(1)), (6, lab.router_ll(1))):
            assert [a for a in lab.addresses(1, family=family)
                    if family == 4 or a.startswith("fe80:")] == [vip]
            conf = lab.dir / f"only{family}.conf"
            prefix = "/24" if family == 4 else "/64"
            conf.write_text(f"instance lan\n  interface eth0\n  vrid 9\n  priority 100\n"
                            f"  vip {vip}{prefix}\n")
            result = subprocess.run(["ip", "netns", "exec", ns, tinyvrrp_bin(), "run",
                                     "--config", str(conf)],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 2, result
            assert f"{conf}:2: vip {vip}{prefix} is the interface's only address" in result.stderr, \
                result.stderr
            assert vip in lab.addresses(1, family=family), "the address must stay"


def test_an_owner_cannot_use_a_virtual_mac():
    with Lab(routers=1) as lab:
        conf = lab.dir / "owner-vmac.conf"
        conf.write_text(f"instance lan\n  interface eth0\n  vrid 9\n  priority 255\n"
                        f"  vip {lab.router_ip(1)}/24\n  vmac on\n")
        result = subprocess.run(["ip", "netns", "exec", lab.router_ns(1), tinyvrrp_bin(), "run",
                                 "--config", str(conf)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, result
        assert f"{conf}:2: vmac: an address owner's addresses are the interface's own" \
            in result.stderr, result.stderr
        assert lab.link(1, "vrrp4.9") is None, "nothing may be created"
