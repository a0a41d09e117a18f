"""The big-endian MIPS router image (scripts/build-cross) in a real VRRP
pair, under qemu-user, next to the host build, for IPv4 and IPv6.

qemu-user translates the guest's syscalls, so the image runs in the lab's
namespaces like any other program, and the bugs it is there to find are the
image's own: packet building and parsing, rtnetlink (native-endian),
IPv6 recvmsg with its control messages (destination and hop limit),
sockaddr layouts, and 32-bit time structs. The router image is router 1 or
2 on the lab bridge; the other is the host binary. The image also runs
test_tracking's script tracking (it spawns the check script and reads its
exit status).

Adverts are 500 ms rather than the other tests' 100 ms: qemu-user is
slower and the machine is shared, and a stalled emulator must not look
like a dead master (Master_Down_Interval is 1.8 s for the backup, Skew_Time
0.3 s). Bounds are generous: they fail on a real bug (no
takeover, two masters, Master_Down_Interval where Skew_Time was due, a
wrong address or hop limit), not on a slow machine.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from lab import REPO, Lab, assert_steady, explain, timeline, tinyvrrp_bin, wait_until
from test_tracking import script_tracking

TRIPLE = "mips-unknown-linux-musl"
QEMU = "qemu-mips-static"
# Where scripts/build-cross writes it (scripts/test builds it first).
IMAGE = Path(os.environ.get("TINYVRRP_MIPS_IMAGE",
                            str(REPO / "target" / "images" / f"tinyvrrp-{TRIPLE}")))


def _missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    for tool in ("ip", "tcpdump", "ping"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if shutil.which(QEMU) is None:
        missing.append(f"{QEMU} (scripts/setup-cross)")
    if not IMAGE.exists():
        missing.append(f"the mips router image at {IMAGE} (scripts/build-cross {TRIPLE})")
    if not Path(tinyvrrp_bin()).exists():
        missing.append(f"the tinyvrrp binary at {tinyvrrp_bin()} (cargo build --release)")
    return missing


MISSING = _missing()

ADVERT_MS = 500
# qemu-user starts a static binary in well under a second; a shared machine
# may take longer.
ELECTION_TIMEOUT = 15.0
TAKEOVER_MARGIN = 1.0
MIPS = [QEMU, str(IMAGE)]


def vip_of(lab, family):
    return lab.vip() if family == 4 else lab.vip6()


def source(lab, router, family):
    """A router's advert source: its IPv4 address, or eth0's link-local."""
    return lab.router_ip(router) if family == 4 else lab.router_ll(router)


def vip_addresses(lab, family):
    return [lab.vip()] if family == 4 else [lab.vip6_ll(), lab.vip6()]


def start(lab, router, family, mips, priority):
    return lab.tinyvrrp(router, family=family, priority=priority, advert_ms=ADVERT_MS,
                        program=MIPS if mips else None)


def family_name(family):
    return f"ipv{family}"


def assert_vips_gone(lab, router, family):
    left = [a for a in vip_addresses(lab, family) if a in lab.addresses(router, family=family)]
    assert left == [], f"router {router} still has {left}\n" + explain(lab)


def assert_clean_receive(node, family, master):
    """The node hears `master` (IPv6: the source from recvmsg's sockaddr)
    and dropped none of its adverts: a hop limit misread from
    IPV6_HOPLIMIT would count under ip-ttl-errors, a destination misread
    from IPV6_PKTINFO under checksum-errors (it is in the pseudo-header), a
    misparsed packet under another of the interface's counters."""
    status = node.status()
    assert status["family"] == family_name(family), status
    assert status["master"] == master, status
    assert int(status["advertisement-rcvd"]) > 0, status
    interface = node.status("interface")
    assert interface["family"] == family_name(family), interface
    fields = ("name", "family", "primary", "link")
    dropped = {k: v for k, v in interface.items() if k not in fields and v != "0"}
    assert not dropped and "checksum-errors" in interface, interface
    return status


def takeover_gap(capture, lab, old, new, family):
    line = timeline(capture.events(), source(lab, old, family), source(lab, new, family),
                    vip_of(lab, family))
    assert line.new_first_advert is not None, "no advert from the new master\n" + explain(lab)
    assert line.gap is not None, f"no advert from the old master on the wire: {line}"
    return line


def test_image_is_big_endian_mips():
    """The image the other tests run is the one they are meant to run."""
    header = IMAGE.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", header
    assert header[4] == 1 and header[5] == 2, "not ELF32 big-endian"
    assert int.from_bytes(header[18:20], "big") == 8, "e_machine is not MIPS"


@pytest.mark.parametrize("family", [4, 6])
def test_mips_master_kill9_restart_preempts_sigterm_hands_over(family):
    """The image as master (150) over the host build (100): it wins, a
    kill -9 hands the VIP to the host after Master_Down_Interval, a restart
    preempts back, SIGTERM hands over after Skew_Time with priority 0."""
    with Lab(routers=2) as lab:
        vip = vip_of(lab, family)
        with lab.capture() as capture:
            mips = start(lab, 1, family, mips=True, priority=150)
            host = start(lab, 2, family, mips=False, priority=100)
            assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
            time.sleep(0.5)
        assert_steady(lab, 1, vip=vip)
        for address in vip_addresses(lab, family):
            assert lab.ping(address), f"the client cannot reach {address} on the mips router"
        # The image's adverts as the host build reads them, and on the wire.
        assert_clean_receive(host, family, source(lab, 1, family))
        assert host.status()["state"] == "BACKUP"
        adverts = [e for e in capture.events()
                   if e.kind == "vrrp" and e.src == source(lab, 1, family)]
        assert adverts, "no advert from the mips router on the wire\n" + explain(lab)
        for e in adverts:
            assert (e.family, e.version, e.vrid, e.priority) == (family, 3, 51, 150), e
            assert e.interval == ADVERT_MS // 10 and e.ttl == 255, e
            assert e.addresses == vip_addresses(lab, family), e
            assert e.src_mac == lab.mac(1), e

        # kill -9: the host build takes over after its Master_Down_Interval.
        with lab.capture() as capture:
            time.sleep(0.5)
            mips.kill9()
            assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
            time.sleep(0.3)
        line = takeover_gap(capture, lab, 1, 2, family)
        expected = host.params.master_down_s()
        print(f"\n[ipv{family}] mips master kill -9 -> host takeover: {line.gap:.3f} s "
              f"(Master_Down_Interval {expected:.3f} s)")
        assert expected * 0.9 < line.gap < expected + TAKEOVER_MARGIN, (line, expected)
        assert line.new_first_garp is not None, "the host announced no VIP"
        assert lab.ping(vip), "the client cannot reach the VIP on the host router"

        # Restarted, the image removes its stale VIPs and preempts back.
        mips = start(lab, 1, family, mips=True, priority=150)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        status = mips.status()
        assert status["family"] == family_name(family), status
        assert status["state"] == "MASTER" and status["master"] == source(lab, 1, family), status
        assert status["send-errors"] == "0", status
        assert mips.status("interface")["link"] == "up"
        assert wait_until(lambda: host.status()["state"] == "BACKUP", 3.0), explain(lab)

        # SIGTERM: priority 0 on the wire, the host takes over after Skew_Time.
        with lab.capture() as capture:
            time.sleep(0.5)
            assert mips.terminate() == 0, explain(lab)
            assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
            time.sleep(0.3)
        line = takeover_gap(capture, lab, 1, 2, family)
        assert line.priority_zero is not None, "no priority-0 advert on SIGTERM\n" + explain(lab)
        handover = line.new_first_advert - line.priority_zero
        skew, master_down = host.params.skew_s(), host.params.master_down_s()
        print(f"[ipv{family}] mips SIGTERM -> host takeover after priority 0: {handover:.3f} s "
              f"(Skew_Time {skew:.3f} s)")
        assert skew * 0.5 < handover < master_down * 0.5, (handover, skew, master_down)
        assert_vips_gone(lab, 1, family)
        assert_steady(lab, 2, vip=vip)


@pytest.mark.parametrize("family", [4, 6])
def test_mips_backup_follows_host_master_and_takes_over(family):
    """The reverse roles: the host build master (150), the image backup
    (100), so the image's receive path does the work. It follows the
    master, takes over on kill -9 after its Master_Down_Interval, yields to
    the restarted master, and takes over after Skew_Time on its SIGTERM."""
    with Lab(routers=2) as lab:
        vip = vip_of(lab, family)
        host = start(lab, 1, family, mips=False, priority=150)
        mips = start(lab, 2, family, mips=True, priority=100)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        # Long enough for a backup that misreads adverts to take over.
        time.sleep(mips.params.master_down_s() + 1.0)
        assert_steady(lab, 1, vip=vip)
        status = assert_clean_receive(mips, family, source(lab, 1, family))
        assert status["state"] == "BACKUP", status

        with lab.capture() as capture:
            time.sleep(0.5)
            host.kill9()
            assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[2], vip=vip), explain(lab)
            time.sleep(0.3)
        line = takeover_gap(capture, lab, 1, 2, family)
        expected = mips.params.master_down_s()
        print(f"\n[ipv{family}] host master kill -9 -> mips takeover: {line.gap:.3f} s "
              f"(Master_Down_Interval {expected:.3f} s)")
        assert expected * 0.9 < line.gap < expected + TAKEOVER_MARGIN, (line, expected)
        assert line.new_first_garp is not None, "the mips router announced no VIP"
        for address in vip_addresses(lab, family):
            assert lab.ping(address), f"the client cannot reach {address} on the mips router"
        assert wait_until(lambda: lab.neighbour_mac(vip) == lab.mac(2), 3.0), \
            f"the client's entry for {vip} is {lab.neighbour(vip)}, not mips {lab.mac(2)}"

        # The restarted host build preempts: the image, as master, hears it.
        host = start(lab, 1, family, mips=False, priority=150)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, vip=vip), explain(lab)
        assert_steady(lab, 1, vip=vip)
        assert_vips_gone(lab, 2, family)
        assert wait_until(lambda: mips.status()["state"] == "BACKUP", 3.0), explain(lab)

        # The host build's SIGTERM: the image takes over after its Skew_Time.
        with lab.capture() as capture:
            time.sleep(0.5)
            assert host.terminate() == 0, explain(lab)
            assert lab.wait_holder(2, ELECTION_TIMEOUT, vip=vip), explain(lab)
            time.sleep(0.3)
        line = takeover_gap(capture, lab, 1, 2, family)
        assert line.priority_zero is not None, "no priority-0 advert on SIGTERM"
        handover = line.new_first_advert - line.priority_zero
        skew, master_down = mips.params.skew_s(), mips.params.master_down_s()
        print(f"[ipv{family}] host SIGTERM -> mips takeover after priority 0: {handover:.3f} s "
              f"(Skew_Time {skew:.3f} s)")
        assert skew * 0.5 < handover < master_down * 0.5, (handover, skew, master_down)
        assert_steady(lab, 2, vip=vip)
        assert mips.alive(), explain(lab)
        assert mips.status()["family"] == family_name(family)


@pytest.mark.parametrize("weight", [None, -60], ids=["weight0-fault", "weight-60"])
def test_mips_track_script_moves_the_vip_and_back(weight):
    """test_tracking's script tracking with the image as the tracking
    master (150) and the host build as backup (100): the image spawns the
    check script (a host /bin/sh under qemu-user) every 500 ms, reads its
    exit status, and a failure moves the VIP to the host build (FAULT, or
    priority 90 with weight -60); success brings it back."""
    with Lab(routers=2) as lab:
        script_tracking(lab, program=MIPS, advert_ms=ADVERT_MS, weight=weight, interval_ms=500,
                        election_timeout=ELECTION_TIMEOUT)
