"""tinyvrrp without root (issue 11): routers run as nobody with CAP_NET_RAW
and CAP_NET_ADMIN alone (util-linux setpriv, as systemd's User= and
AmbientCapabilities= or procd's user and capabilities start it), and do
everything root does: election, takeover, reload, handover, notify scripts
and FIFO, IPv6, the virtual MAC and its sysctls.

Each test with running daemons first reads their /proc/PID/status
(Privileges.assert_applied): a test that ran them as root by mistake, or
with a capability more, fails there.
"""

import os
import shutil
import signal
import stat
import subprocess

import pytest

from lab import (Lab, Privileges, assert_steady, explain, missing_prerequisites,
                 process_status, wait_until)

MISSING = missing_prerequisites()
if shutil.which("setpriv") is None:
    MISSING.append("setpriv (util-linux)")
for tool in ("unshare", "chrt"):
    if shutil.which(tool) is None:
        MISSING.append(f"{tool} (util-linux)")

NOBODY = 65534
TWO_CAPS = Privileges().mask()
TIMEOUT = 8.0


def run_dir(lab, router: int):
    """The daemon user's own directory, as /run/tinyvrrp would be."""
    path = lab.dir / f"run-r{router}"
    path.mkdir()
    os.chown(path, NOBODY, NOBODY)
    path.chmod(0o750)
    return path


def assert_nothing_refused(log: str):
    """No error, and nothing the system refused for want of a privilege."""
    for word in ("ERROR", "not permitted", "denied"):
        assert word not in log, log


def sysctl(lab, router: int, path: str) -> str:
    return lab.exec(router, "cat", f"/proc/sys/net/{path}").stdout.strip()


def test_election_takeover_reload_and_handover_with_two_capabilities():
    with Lab() as lab:
        nodes, fifos = {}, {}
        for router, priority in ((1, 150), (2, 120), (3, 100)):
            rundir = run_dir(lab, router)
            fifos[router] = rundir / "notify.fifo"
            # A notify script: what the daemon runs it as.
            probe = lab.script(f"probe{router}", 'echo "$(id -u) $(grep CapEff /proc/self/status'
                               f' | cut -f2) $*" >> {rundir}/notify.out\n')
            nodes[router] = lab.tinyvrrp(router, priority=priority, notify=str(probe),
                                         head=f"notify-fifo {fifos[router]}\n",
                                         privileges=Privileges())
        for node in nodes.values():
            Privileges().assert_applied(node)

        # Election: one master, the VIP on it, reachable.
        assert lab.wait_holder(1, TIMEOUT), explain(lab)
        assert_steady(lab, 1, routers=(1, 2, 3))
        # The daemon made its FIFO (0600, its own) and told it; its notify
        # script ran as nobody, with the daemon's two capabilities.
        fifo = fifos[1]
        assert wait_until(fifo.exists, TIMEOUT), explain(lab)
        info = fifo.stat()
        assert stat.S_ISFIFO(info.st_mode), oct(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
        assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            assert wait_until(lambda: b'INSTANCE "lan" MASTER 150' in os.read(fd, 4096), TIMEOUT)
        finally:
            os.close(fd)
        # Its status socket, in its own directory: the daemon's, 0600; root
        # asks it.
        info = nodes[1].socket.stat()
        assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
        assert info.st_uid == NOBODY
        assert nodes[1].status()["state"] == "MASTER"
        out = fifo.parent / "notify.out"
        assert wait_until(lambda: out.exists() and "MASTER" in out.read_text(), TIMEOUT), \
            explain(lab)
        assert f"{NOBODY} {TWO_CAPS:016x} INSTANCE lan MASTER 150" in out.read_text().splitlines()

        # Takeover after kill -9 of the master.
        nodes[1].kill9()
        assert lab.wait_holder(2, TIMEOUT, routers=[2, 3]), explain(lab)
        assert_steady(lab, 2, routers=(2, 3))

        # A reload that changes the VIP list moves the VIPs, with no flap:
        # the config stays root's, readable by the daemon's group.
        old, new = lab.vip(), [lab.vip(1), lab.vip(2)]
        for router in (2, 3):
            config = nodes[router].config
            config.write_text(config.read_text().replace(
                f"  vip {old}/24\n", "".join(f"  vip {vip}/24\n" for vip in new)))
            assert (config.stat().st_uid, stat.S_IMODE(config.stat().st_mode)) == (0, 0o640)
            nodes[router].signal(signal.SIGHUP)
        assert wait_until(lambda: set(lab.addresses(2)) >= set(new)
                          and old not in lab.addresses(2), TIMEOUT), explain(lab)
        for vip in new:
            assert_steady(lab, 2, routers=(2, 3), vip=vip)
        assert old not in lab.addresses(3)
        log = nodes[2].log.read_text()
        assert_nothing_refused(log)
        after_reload = log.split("SIGHUP: reloading")[-1]
        assert "entering" not in after_reload, log

        # SIGTERM: priority 0, the VIPs handed over and removed, exit 0, and
        # the FIFO it made removed.
        assert wait_until(fifos[2].exists, TIMEOUT)
        assert nodes[2].terminate() == 0, explain(lab)
        assert lab.wait_holder(3, TIMEOUT, routers=[2, 3], vip=new[0]), explain(lab)
        assert not set(new) & set(lab.addresses(2))
        assert not fifos[2].exists()
        assert_steady(lab, 3, routers=(2, 3), vip=new[1])
        Privileges().assert_applied(nodes[3])


def test_ipv6_and_virtual_mac_with_two_capabilities():
    """The macvlans and every sysctl of `vmac on`: CAP_NET_ADMIN gives the
    net sysctls of the daemon's namespace root's access, so nobody writes
    them."""
    with Lab(routers=2) as lab:
        nodes = {router: lab.tinyvrrp(router, privileges=Privileges(), instances=[
                     lab.params(4, name="lan4", vmac=True, priority=priority),
                     lab.params(6, name="lan6", vmac=True, priority=priority)])
                 for router, priority in ((1, 150), (2, 100))}
        for node in nodes.values():
            Privileges().assert_applied(node)
        for vip in (lab.vip(), lab.vip6()):
            assert lab.wait_holder(1, TIMEOUT, vip=vip), explain(lab)
            assert_steady(lab, 1, vip=vip)
        assert lab.ping6(), "the client cannot reach the IPv6 VIP"
        assert lab.neighbour_mac(lab.vip()) == "00:00:5e:00:01:33"
        assert lab.neighbour_mac(lab.vip6()) == "00:00:5e:00:02:33"
        for router in (1, 2):
            assert sysctl(lab, router, "ipv4/conf/eth0/arp_ignore") == "1"
            assert sysctl(lab, router, "ipv4/conf/eth0/arp_announce") == "2"
            assert sysctl(lab, router, "ipv4/conf/vrrp4.51/rp_filter") == "0"
            assert sysctl(lab, router, "ipv6/conf/vrrp6.51/accept_dad") == "0"
            log = nodes[router].log.read_text()
            assert_nothing_refused(log)
            assert not [line for line in log.splitlines() if "/conf/" in line], log

        assert nodes[1].terminate() == 0, explain(lab)
        for vip in (lab.vip(), lab.vip6()):
            assert lab.wait_holder(2, TIMEOUT, routers=[1, 2], vip=vip), explain(lab)
        assert lab.ping() and lab.ping6()
        # Router 1 deleted its macvlans and put its parent's sysctls back.
        assert lab.link(1, "vrrp4.51") is None and lab.link(1, "vrrp6.51") is None
        assert sysctl(lab, 1, "ipv4/conf/eth0/arp_ignore") == "0"
        assert sysctl(lab, 1, "ipv4/conf/eth0/arp_announce") == "0"


def test_read_only_sysctls_are_logged_and_the_virtual_mac_still_fails_over():
    """/proc/sys read-only (systemd's ProtectKernelTunables=, a container):
    each sysctl is logged as refused, and the daemon works on."""
    read_only = ("unshare", "-m", "sh", "-c",
                 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys'
                 ' && exec "$@"', "sh")
    with Lab(routers=2) as lab:
        master = lab.tinyvrrp(1, priority=150, vmac=True,
                              privileges=Privileges(before=read_only))
        backup = lab.tinyvrrp(2, priority=100, vmac=True, privileges=Privileges())
        Privileges().assert_applied(master)
        assert lab.wait_holder(1, TIMEOUT), explain(lab)
        assert_steady(lab, 1)
        log = master.log.read_text()
        assert "WARN  [tinyvrrp::daemon::vmac] ipv4/conf/eth0/arp_ignore: Read-only file system" \
            in log, log
        assert sysctl(lab, 1, "ipv4/conf/eth0/arp_ignore") == "0"
        assert master.alive()
        assert master.terminate() == 0, explain(lab)
        assert lab.wait_holder(2, TIMEOUT, routers=[1, 2]), explain(lab)
        assert lab.link(1, "vrrp4.51") is None
        assert backup.alive()


def scheduler(pid: int) -> str:
    return subprocess.run(["chrt", "-p", str(pid)], capture_output=True, text=True).stdout


def test_realtime_without_root_needs_sys_nice_and_ipc_lock_too():
    """`--realtime` with the two capabilities alone: a warning, and the
    daemon runs as usual; with CAP_SYS_NICE and CAP_IPC_LOCK added to every
    set (README, "Running without root"): SCHED_RR and memory locked."""
    with Lab(routers=2) as lab:
        plain = lab.tinyvrrp(1, priority=150, options=["--realtime"], privileges=Privileges())
        more = Privileges(caps=("net_raw", "net_admin", "sys_nice", "ipc_lock"))
        realtime = lab.tinyvrrp(2, priority=100, options=["--realtime"], privileges=more)
        Privileges().assert_applied(plain)
        more.assert_applied(realtime)
        assert lab.wait_holder(1, TIMEOUT), explain(lab)
        assert_steady(lab, 1)
        assert "--realtime: cannot use SCHED_RR: Operation not permitted" in plain.log.read_text()
        assert "SCHED_OTHER" in scheduler(plain.proc.pid)
        policy = scheduler(realtime.proc.pid)
        assert "SCHED_RR" in policy and "priority: 10" in policy, policy
        locked = int(process_status(realtime.proc.pid)["VmLck"].split()[0])
        assert locked > 0, realtime.log.read_text()
        assert "--realtime" not in realtime.log.read_text(), realtime.log.read_text()


@pytest.mark.parametrize("caps", [(), ("net_admin",), ("net_raw",)],
                         ids=["none", "net_admin-only", "net_raw-only"])
def test_without_both_capabilities_nothing_starts_and_the_error_says_why(caps):
    """Less than the two: exit 1 with a message naming them, before
    anything is sent or changed. Without CAP_NET_ADMIN alone the daemon
    could open its sockets, but as master it would never hold its VIPs."""
    with Lab(routers=1) as lab:
        node = lab.tinyvrrp(1, priority=150, privileges=Privileges(caps=caps))
        assert node.proc.wait(timeout=10) == 1, explain(lab)
        assert node.log.read_text() == (
            "ERROR [tinyvrrp] cannot start: needs CAP_NET_RAW and CAP_NET_ADMIN\n"), explain(lab)
        assert lab.addresses(1) == [lab.router_ip(1)]
