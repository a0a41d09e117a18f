"""tinyvrrp on a real MIPS kernel: two Malta VMs (Debian's 4kc-malta kernel
under qemu-system-mipsel, busybox userland) on one emulated L2 segment.

Shows the election, the VIP on the master only, the backup reaching it, the
takeover when the master's daemon is killed, and the stale-VIP cleanup and
preemption when it comes back. Bounds are generous (emulated CPU).
"""

import re
import time

from vm import Segment, missing_prerequisites

MISSING = missing_prerequisites()

BOOT_TIMEOUT = 120
CONVERGE_TIMEOUT = 60
VIP = "192.168.77.1"


def config(priority: int) -> str:
    return (
        r"instance lan\n interface eth0\n vrid 77\n priority %d\n advert 1s\n vip %s/24\n"
        % (priority, VIP)
    )


def has_vip(vm) -> bool:
    return re.search(rf"inet {re.escape(VIP)}/24", vm.sh("ip -4 addr show dev eth0")) is not None


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def start_daemon(vm, priority: int):
    vm.sh(f"printf '{config(priority)}' > /etc/tinyvrrp.conf")
    vm.sh("tinyvrrp check -c /etc/tinyvrrp.conf")
    vm.sh("tinyvrrp run -c /etc/tinyvrrp.conf >>/tmp/tinyvrrp.log 2>&1 &")


def explain(vms) -> str:
    return "\n".join(f"--- {vm.name} ---\n{vm.sh('cat /tmp/tinyvrrp.log')}" for vm in vms)


def test_election_takeover_and_return_on_malta_mipsel():
    timings = {}
    with Segment() as segment:
        vm1, vm2 = segment.vms
        started = time.monotonic()
        for vm in segment.vms:
            assert vm.wait_for("BOARD-READY", BOOT_TIMEOUT), f"{vm.name} did not boot:\n{vm.tail()}"
        timings["boot"] = time.monotonic() - started
        for index, vm in enumerate(segment.vms, start=1):
            assert "failed" not in vm.output(), vm.tail()
            vm.sh(f"ip addr add 192.168.77.{10 + index}/24 dev eth0 && ip link set eth0 up")
        assert "0% packet loss" in vm2.sh("ping -c 3 -W 2 192.168.77.11", timeout=60), vm2.tail()

        started = time.monotonic()
        start_daemon(vm1, 200)
        start_daemon(vm2, 100)
        assert wait_until(lambda: has_vip(vm1), CONVERGE_TIMEOUT), explain(segment.vms)
        timings["election"] = time.monotonic() - started
        for _ in range(3):
            assert not has_vip(vm2), explain(segment.vms)
            time.sleep(1)
        assert "0% packet loss" in vm2.sh(f"ping -c 2 -W 2 {VIP}", timeout=60), explain(segment.vms)

        started = time.monotonic()
        vm1.sh("kill -9 $(pidof tinyvrrp)")
        assert wait_until(lambda: has_vip(vm2), CONVERGE_TIMEOUT), explain(segment.vms)
        timings["takeover"] = time.monotonic() - started
        assert "MASTER" in vm2.sh("cat /tmp/tinyvrrp.log")

        # Back after a crash: the stale VIP goes, then priority 200 preempts.
        started = time.monotonic()
        start_daemon(vm1, 200)
        assert wait_until(lambda: has_vip(vm1) and not has_vip(vm2), CONVERGE_TIMEOUT), explain(
            segment.vms
        )
        timings["preempt back"] = time.monotonic() - started
        assert "removing stale 192.168.77.1/24" in vm1.sh("cat /tmp/tinyvrrp.log"), explain(segment.vms)
        assert "0% packet loss" in vm2.sh(f"ping -c 2 -W 2 {VIP}", timeout=60), explain(segment.vms)
    print("board timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
