"""File sync (`sync` blocks, issue 12) between routers in namespaces: the
master's files reach the backups, and come back after a local edit, in few
bytes for a small change; forged, replayed and foreign datagrams change
nothing; the direction follows mastership; a backup killed mid-transfer
keeps its old file; adverts keep their interval during a 1 MB transfer;
after-update runs once per replaced file, in order.

Each router has its own copy of each file (its own directory in the lab),
as it would on its own flash. Figures are printed (run with -s).
"""

import hashlib
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from lab import Lab, missing_prerequisites, parse_pcap, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="; ".join(MISSING))

PORT = 5799
ELECTION_TIMEOUT = 5.0
KEY = b"a shared secret of the cluster, 40 bytes"


def leases(count: int, salt: str = "") -> bytes:
    """A dnsmasq lease file: `EXPIRY MAC IP NAME CLIENT-ID` per line."""
    return b"".join(
        f"{1_700_000_000 + 37 * i} 02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x} "
        f"10.1.{i >> 8 & 255}.{i & 255} host-{i}{salt} 01:02:00:00:{i >> 8 & 255:02x}:{i & 255:02x}\n"
        .encode() for i in range(count))


def noise(size: int, seed: int) -> bytes:
    """`size` bytes that share no chunk with another seed's."""
    out, block = bytearray(), seed.to_bytes(8, "big")
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


class Router:
    """A router's directory: its key and its copies of the synced files."""

    def __init__(self, lab: Lab, router: int, names: list[str]):
        self.dir = lab.dir / f"sync-r{router}"
        self.dir.mkdir(exist_ok=True)
        self.key = self.dir / "sync.key"
        self.key.write_bytes(KEY)
        self.key.chmod(0o600)
        self.files = [self.dir / name for name in names]

    def block(self, interval: str, after_update: str | None = None) -> str:
        lines = ["sync leases", *(f"  file {f}" for f in self.files), "  instance lan",
                 f"  port {PORT}", f"  key {self.key}", f"  interval {interval}"]
        if after_update:
            lines.append(f"  after-update {after_update}")
        return "\n".join(lines) + "\n"


def start(lab: Lab, routers: dict[int, int], names=("dhcp.leases",), interval="1s",
          after_update: str | None = None, **params):
    """tinyvrrp on each router of `routers` (router: priority), with one sync
    block of `names`; returns the nodes and the routers' directories. The
    first is master."""
    dirs = {r: Router(lab, r, list(names)) for r in routers}
    nodes = {}
    for r, priority in routers.items():
        nodes[r] = launch(lab, r, priority, dirs[r], interval, after_update, **params)
    first = next(iter(routers))
    vip = lab.vip6() if params.get("family") == 6 else None
    assert lab.wait_holder(first, ELECTION_TIMEOUT, routers=list(routers), vip=vip), \
        explain(nodes)
    return nodes, dirs


def explain(nodes) -> str:
    return "\n".join(f"--- r{n.router} ---\n{n.log_tail(40)}" for n in nodes.values())


def launch(lab: Lab, router: int, priority: int, files: Router, interval="1s",
           after_update: str | None = None, **params):
    """tinyvrrp on `router` with one sync block of its `files`."""
    return lab.tinyvrrp(router, priority=priority, tail=files.block(interval, after_update),
                        **params)


def write_atomically(path: Path, data: bytes):
    """As dnsmasq writes its lease file: a new file renamed over the old."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def same(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def sync_file(node, path: Path) -> dict:
    return next(f for f in node.status_json()["sync-files"] if f["path"] == str(path))


def sync_drops(node) -> dict:
    return node.status_json()["syncs"][0]["statistics"]


def udp_frames(pcap: bytes) -> list[tuple[float, str, bytes, int]]:
    """(time, source, UDP payload, frame length) of each IPv4 UDP frame."""
    endian = "<" if pcap[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    frames, offset = [], 24
    while offset + 16 <= len(pcap):
        sec, frac, caplen, length = struct.unpack(endian + "IIII", pcap[offset:offset + 16])
        frame = pcap[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        if len(frame) >= 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
            ihl = (frame[14] & 15) * 4
            src = ".".join(str(b) for b in frame[26:30])
            frames.append((sec + frac / 1e6, src, frame[14 + ihl + 8:], length))
    return frames


def send_from(lab: Lab, ns: str, src: str, dst: str, payload: bytes):
    """One UDP datagram to the sync port, from `src` in namespace `ns`."""
    code = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.bind(({src!r}, 0)); s.sendto(bytes.fromhex(sys.argv[1]), ({dst!r}, {PORT}))")
    subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", code, payload.hex()],
                   check=True, timeout=10)


def test_a_change_on_the_master_arrives_within_a_second_and_a_backup_edit_is_put_back():
    with Lab(routers=2) as lab:
        v1 = leases(500)
        nodes, dirs = start(lab, {1: 150, 2: 100}, interval="2s")
        [master_file], [backup_file] = dirs[1].files, dirs[2].files
        write_atomically(master_file, v1)
        assert wait_until(lambda: same(backup_file, v1), 3), explain(nodes)
        # A change: seen through inotify, pushed at once.
        v2 = v1.replace(b"host-7 ", b"host-seven ")
        changed = time.monotonic()
        write_atomically(master_file, v2)
        assert wait_until(lambda: same(backup_file, v2), 1.0), explain(nodes)
        print(f"\nchange on the master on the backup after {time.monotonic() - changed:.3f}s")
        # As dnsmasq writes: in place, through a descriptor kept open.
        v3 = v2.replace(b"host-8 ", b"host-eight ")
        with open(master_file, "r+b") as kept_open:
            kept_open.truncate(0)
            kept_open.write(v3)
            kept_open.flush()
            os.fsync(kept_open.fileno())
            changed = time.monotonic()
            assert wait_until(lambda: same(backup_file, v3), 1.0), explain(nodes)
            print(f"in-place write on the backup after {time.monotonic() - changed:.3f}s")
        v2 = v3
        # An edit on the backup is undone within one interval (2 s).
        edited = time.monotonic()
        backup_file.write_bytes(v2 + b"a local edit\n")
        assert wait_until(lambda: same(backup_file, v2), 2.5), explain(nodes)
        print(f"edit on the backup put back after {time.monotonic() - edited:.3f}s")
        digest = hashlib.sha256(v2).hexdigest()
        source, receiver = sync_file(nodes[1], master_file), sync_file(nodes[2], backup_file)
        assert source["digest"] == receiver["digest"] == digest
        assert receiver["last-sync"].endswith("Z") and receiver["statistics"]["errors"] == 0
        assert source["statistics"]["bytes-sent"] > 0 < receiver["statistics"]["bytes-received"]
        assert nodes[1].status_json()["syncs"][0]["role"] == "source"
        assert nodes[2].status_json()["syncs"][0]["role"] == "receiver"


def test_a_one_line_change_in_a_100_kb_lease_file_costs_under_8_kb():
    with Lab(routers=2) as lab:
        v1 = leases(1550)
        assert len(v1) > 100_000
        # The periodic check every 10 s (the default) stays out of the way.
        nodes, dirs = start(lab, {1: 150, 2: 100}, interval="10s")
        [master_file], [backup_file] = dirs[1].files, dirs[2].files
        write_atomically(master_file, v1)
        assert wait_until(lambda: same(backup_file, v1), 5), explain(nodes)
        middle = v1.index(b"host-775 ")
        line = v1.rindex(b"\n", 0, middle) + 1
        end = v1.index(b"\n", line) + 1
        same_length = v1[:line] + b"1800000000" + v1[line + 10:]
        longer = same_length[:end] + b"1800000001 02:00:00:aa:bb:cc 10.1.99.99 new-host *\n" \
            + same_length[end:]
        figures = []
        for name, version in (("same length", same_length), ("one line longer", longer)):
            with lab.capture(bpf=f"udp port {PORT}") as capture:
                time.sleep(0.2)
                write_atomically(master_file, version)
                assert wait_until(lambda: same(backup_file, version), 2), explain(nodes)
                time.sleep(0.3)
            frames = udp_frames(capture.path.read_bytes())
            wire = sum(length for _, _, _, length in frames)
            figures.append(f"{name}: {wire} bytes in {len(frames)} frames")
            assert wire < 8192, figures[-1]
        print("\none-line change in a", len(v1), "byte lease file:", "; ".join(figures))


def test_forged_replayed_and_foreign_datagrams_are_dropped_counted_and_change_nothing():
    with Lab(routers=2) as lab:
        peers = {1: lab.router_ip(2), 2: lab.router_ip(1)}
        dirs = {r: Router(lab, r, ["dhcp.leases"]) for r in (1, 2)}
        nodes = {r: lab.tinyvrrp(r, priority=150 if r == 1 else 100, unicast_peers=[peers[r]],
                                 tail=dirs[r].block("1s")) for r in (1, 2)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes)
        [master_file], [backup_file] = dirs[1].files, dirs[2].files
        v1 = leases(50)
        with lab.capture(bpf=f"udp port {PORT}") as capture:
            write_atomically(master_file, v1)
            assert wait_until(lambda: same(backup_file, v1), 3), explain(nodes)
        # The source's datagrams to the backup, the last one (a chunk) kept.
        sent = [p for _, src, p, _ in udp_frames(capture.path.read_bytes())
                if src == lab.router_ip(1)]
        chunk = next(p for p in reversed(sent) if p[1] == 6)
        backup_ip, master_ns = lab.router_ip(2), lab.router_ns(1)
        before = sync_drops(nodes[2])
        tampered = bytearray(chunk)
        tampered[40] ^= 0x20
        send_from(lab, master_ns, lab.router_ip(1), backup_ip, bytes(tampered))
        send_from(lab, master_ns, lab.router_ip(1), backup_ip, chunk)
        send_from(lab, lab.client_ns(), lab.client_ip(), backup_ip, chunk)
        send_from(lab, master_ns, lab.router_ip(1), backup_ip, chunk[:30])
        send_from(lab, master_ns, lab.router_ip(1), backup_ip, chunk + bytes(1400))
        expected = {name: before[name] + 1 for name in
                    ("unauthenticated", "replayed", "not-peer", "truncated", "oversized")}

        def counted():
            after = sync_drops(nodes[2])
            return all(after[name] == count for name, count in expected.items())
        assert wait_until(counted, 3), f"{before} -> {sync_drops(nodes[2])}"
        assert same(backup_file, v1)
        print("\ndrops on the backup:", sync_drops(nodes[2]))


def test_after_a_failover_the_new_master_is_the_source_and_no_file_goes_back():
    with Lab(routers=2) as lab:
        # The old master comes back as a backup: preempt off.
        nodes, dirs = start(lab, {1: 150, 2: 100}, preempt=False)
        [file1], [file2] = dirs[1].files, dirs[2].files
        v1, v2 = leases(300), leases(320)
        write_atomically(file1, v1)
        assert wait_until(lambda: same(file2, v1), 3), explain(nodes)
        assert nodes[1].terminate() == 0
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes)
        write_atomically(file2, v2)
        nodes[1] = launch(lab, 1, 150, dirs[1], preempt=False)
        # Router 1 comes back as a backup, with its older copy: it receives
        # router 2's, and router 2's never goes back.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not same(file1, v2):
            assert same(file2, v2), "the new master's file went back"
            time.sleep(0.02)
        assert same(file1, v2) and same(file2, v2), explain(nodes)
        assert lab.holders(routers=[1, 2]) == [2]
        time.sleep(1.5)
        assert same(file1, v2) and same(file2, v2)
        assert nodes[2].status_json()["syncs"][0]["role"] == "source"
        assert nodes[1].status_json()["syncs"][0]["role"] == "receiver"


def test_a_backup_killed_mid_transfer_keeps_its_old_file_and_converges_after_a_restart():
    with Lab(routers=2) as lab:
        nodes, dirs = start(lab, {1: 150, 2: 100}, advert_ms=1000)
        [file1], [file2] = dirs[1].files, dirs[2].files
        old, new = noise(1_000_000, 1), noise(1_000_000, 2)
        write_atomically(file1, old)
        assert wait_until(lambda: same(file2, old), 10), explain(nodes)
        # The backup takes 300 sync datagrams a second: the 1 MB transfer
        # lasts seconds.
        ns = lab.router_ns(2)
        for rule in (["add", "table", "inet", "slow"],
                     ["add", "chain", "inet", "slow", "input",
                      "{ type filter hook input priority 0; }"],
                     ["add", "rule", "inet", "slow", "input", "udp", "dport", str(PORT),
                      "limit", "rate", "over", "300/second", "burst", "64", "packets", "drop"]):
            subprocess.run(["ip", "netns", "exec", ns, "nft", *rule], check=True)
        received = sync_file(nodes[2], file2)["statistics"]["bytes-received"]
        write_atomically(file1, new)
        assert wait_until(lambda: sync_file(nodes[2], file2)["statistics"]["bytes-received"]
                          > received + 200_000, 10), explain(nodes)
        nodes[2].kill9()
        assert same(file2, old), "a half-received file is visible"
        # Only the old file and, perhaps, nothing else visible under its name.
        assert sorted(p.name for p in dirs[2].dir.iterdir()) in (
            ["dhcp.leases", "sync.key"], [".dhcp.leases.tinyvrrp-sync", "dhcp.leases", "sync.key"])
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "slow"],
                       check=True)
        nodes[2] = launch(lab, 2, 100, dirs[2], advert_ms=1000)
        assert wait_until(lambda: same(file2, new), 10), explain(nodes)


# With --realtime (SCHED_FIFO) the busy test machine's other processes
# (the backup, the test itself) cannot delay the master's wake-ups: what
# is left is what sync costs the loop.
@pytest.mark.parametrize("options", [[], ["--realtime"]], ids=["normal", "realtime"])
def test_adverts_keep_their_interval_during_a_one_megabyte_transfer(options):
    with Lab(routers=2) as lab:
        advert_ms = 100
        nodes, dirs = start(lab, {1: 150, 2: 100}, advert_ms=advert_ms, options=options)
        [file1], [file2] = dirs[1].files, dirs[2].files
        with lab.capture(filter=f"ip src {lab.router_ip(1)}") as capture:
            # 1 MB files, one after another, for 3 s: transfers back to back
            # over some 30 advert intervals.
            started, transfers = time.monotonic(), 0
            while time.monotonic() - started < 3 or transfers < 4:
                transfers += 1
                data = noise(1_000_000, transfers)
                write_atomically(file1, data)
                assert wait_until(lambda: same(file2, data), 10), explain(nodes)
            took = time.monotonic() - started
        adverts = [e.time for e in parse_pcap(capture.path.read_bytes())
                   if e.kind == "vrrp" and e.src == lab.router_ip(1)]
        gaps = [b - a for a, b in zip(adverts, adverts[1:])]
        largest = max(gaps)
        sent = sync_file(nodes[1], file1)["statistics"]["bytes-sent"]
        print(f"\n{' '.join(options) or 'no options'}: {transfers} x 1 MB in {took:.2f}s "
              f"({sent} bytes sent): {len(adverts)} adverts, largest gap {largest * 1000:.1f} ms "
              f"for a {advert_ms} ms interval")
        assert largest < 1.5 * advert_ms / 1000, f"largest gap {largest * 1000:.1f} ms"


def test_after_update_runs_once_per_replaced_file_in_order():
    with Lab(routers=2) as lab:
        log = lab.dir / "after-update.log"
        script = lab.dir / "after-update.sh"
        script.write_text(f"#!/bin/sh\necho \"$1 $2\" >> {log}\n")
        script.chmod(0o755)
        names = ["a.leases", "b.conf", "c.hosts"]
        nodes, dirs = start(lab, {1: 150, 2: 100}, names=names,
                            after_update=f"{script} replaced")
        for i, (path, copy) in enumerate(zip(dirs[1].files, dirs[2].files)):
            data = f"version {i}\n".encode() * 50
            write_atomically(path, data)
            assert wait_until(lambda: same(copy, data), 3), explain(nodes)
        assert wait_until(lambda: log.exists() and len(log.read_text().splitlines()) == 3, 3)
        time.sleep(0.5)
        assert log.read_text().splitlines() == [f"replaced {f}" for f in dirs[2].files]
        # The master runs none: it replaced nothing.
        assert all(str(f) not in log.read_text() for f in dirs[1].files)


def test_an_ipv6_instance_syncs_over_its_link_local_addresses():
    with Lab(routers=2) as lab:
        nodes, dirs = start(lab, {1: 150, 2: 100}, family=6)
        [master_file], [backup_file] = dirs[1].files, dirs[2].files
        v1 = leases(200)
        write_atomically(master_file, v1)
        assert wait_until(lambda: same(backup_file, v1), 3), explain(nodes)
        backup_file.write_bytes(b"edited\n")
        assert wait_until(lambda: same(backup_file, v1), 3), explain(nodes)


def test_a_key_readable_by_others_is_a_file_and_line_error_at_start_and_on_reload():
    with Lab(routers=1) as lab:
        files = Router(lab, 1, ["dhcp.leases"])
        files.key.chmod(0o640)
        node = launch(lab, 1, 150, files)
        assert node.proc.wait(timeout=10) == 2
        key_line = (node.config.read_text().splitlines().index(f"  key {files.key}") + 1)
        assert (f"{node.config}:{key_line}: key {files.key} is readable by group or others "
                f"(mode 640): chmod 600 it") in node.log.read_text()
        check = subprocess.run([tinyvrrp_bin(), "check", "--config", str(node.config)],
                               capture_output=True, text=True, timeout=10)
        assert check.returncode == 2 and f"{node.config}:{key_line}: key " in check.stderr
        files.key.chmod(0o600)
        node = launch(lab, 1, 150, files)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1]), node.log_tail()
        # On reload the running config stays.
        files.key.write_bytes(b"short")
        node.signal(signal.SIGHUP)
        assert wait_until(lambda: "holds 5 bytes" in node.log.read_text(), 5), node.log_tail()
        assert node.alive() and node.status_json()["syncs"][0]["name"] == "leases"


def test_a_reload_that_adds_a_file_starts_syncing_it_and_keeps_the_rest():
    with Lab(routers=2) as lab:
        nodes, dirs = start(lab, {1: 150, 2: 100})
        [file1], [file2] = dirs[1].files, dirs[2].files
        v1 = leases(100)
        write_atomically(file1, v1)
        assert wait_until(lambda: same(file2, v1), 3), explain(nodes)
        for r, node in nodes.items():
            dirs[r].files.append(dirs[r].dir / "ethers")
            text = node.config.read_text()
            node.config.write_text(text.replace("  instance lan\n  port",
                                                f"  file {dirs[r].files[1]}\n  instance lan\n  port"))
            node.signal(signal.SIGHUP)
        ethers = b"02:00:00:00:00:01 10.1.0.1\n"
        write_atomically(dirs[1].files[1], ethers)
        assert wait_until(lambda: same(dirs[2].files[1], ethers), 3), explain(nodes)
        assert same(file2, v1)
        assert [f["path"] for f in nodes[2].status_json()["sync-files"]] == [
            str(f) for f in dirs[2].files]


def test_a_file_that_cannot_be_written_is_counted_and_written_once_it_can():
    with Lab(routers=2) as lab:
        dirs = {r: Router(lab, r, ["dhcp.leases"]) for r in (1, 2)}
        # The backup's directory does not exist yet: nothing to watch there
        # (it reads every interval instead) and nowhere to write.
        missing = dirs[2].dir / "later"
        dirs[2].files = [missing / "dhcp.leases"]
        nodes = {r: launch(lab, r, 150 if r == 1 else 100, dirs[r]) for r in (1, 2)}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(nodes)
        v1 = leases(100)
        write_atomically(dirs[1].files[0], v1)
        assert wait_until(lambda: sync_file(nodes[2], dirs[2].files[0])["statistics"]["errors"]
                          > 0, 5), explain(nodes)
        assert nodes[2].alive()
        missing.mkdir()
        assert wait_until(lambda: same(dirs[2].files[0], v1), 5), explain(nodes)
        assert "cannot replace" in nodes[2].log.read_text()
        # Read every interval without inotify: a local edit is put back.
        dirs[2].files[0].write_bytes(b"edited\n")
        assert wait_until(lambda: same(dirs[2].files[0], v1), 5), explain(nodes)


# A router image that carries file sync (the mips one does not: its size
# budget), under qemu-user beside the host build; TINYVRRP_SYNC_IMAGE
# names another (e.g. a mips one built with TINYVRRP_MIPS_SYNC=1).
SYNC_IMAGE = Path(os.environ.get(
    "TINYVRRP_SYNC_IMAGE",
    Path(__file__).resolve().parents[2] / "target/images/tinyvrrp-mipsel-unknown-linux-musl"))
SYNC_QEMU = {b"\x01": "qemu-mipsel-static", b"\x02": "qemu-mips-static"}


@pytest.mark.skipif(not SYNC_IMAGE.exists(), reason=f"no router image at {SYNC_IMAGE}")
def test_a_router_image_under_qemu_receives_then_sends_after_a_failover():
    # ELF byte order (EI_DATA): 1 little-endian, 2 big-endian.
    qemu = SYNC_QEMU[SYNC_IMAGE.read_bytes()[5:6]]
    with Lab(routers=2) as lab:
        dirs = {r: Router(lab, r, ["dhcp.leases"]) for r in (1, 2)}
        host = launch(lab, 1, 150, dirs[1], advert_ms=500, preempt=False)
        image = launch(lab, 2, 100, dirs[2], advert_ms=500, preempt=False,
                       program=[qemu, str(SYNC_IMAGE)])
        nodes = {1: host, 2: image}
        assert lab.wait_holder(1, 15, routers=[1, 2]), explain(nodes)
        [file1], [file2] = dirs[1].files, dirs[2].files
        v1, v2 = leases(2000), leases(2100)
        write_atomically(file1, v1)
        assert wait_until(lambda: same(file2, v1), 10), explain(nodes)
        # The host's daemon stops: the image takes over and is the source.
        assert host.terminate() == 0
        assert lab.wait_holder(2, 15, routers=[1, 2]), explain(nodes)
        write_atomically(file2, v2)
        nodes[1] = launch(lab, 1, 150, dirs[1], advert_ms=500, preempt=False)
        assert wait_until(lambda: same(file1, v2), 15), explain(nodes)
        print(f"\n{SYNC_IMAGE.name} under {qemu}: received, then sent after the failover")
