"""Running tinyvrrp in production: the status socket (`tinyvrrp status`,
`status --json`, `reload`), the rpcd plugin, healing after a partition
(split brain), --pidfile, --syslog and --realtime.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab import Lab, missing_prerequisites, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="; ".join(MISSING))

ELECTION_TIMEOUT = 5.0
RPCD_PLUGIN = (Path(__file__).resolve().parents[2] / "board" / "openwrt" / "tinyvrrp" / "files"
               / "tinyvrrp.rpcd")


def explain(*nodes):
    return "\n".join(f"--- {n.kind} r{n.router} ---\n{n.log_tail()}" for n in nodes)


def tinyvrrp(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([tinyvrrp_bin(), *args], capture_output=True, text=True, timeout=10,
                          **kwargs)


def start_pair(lab, **params):
    master = lab.tinyvrrp(1, priority=150, **params)
    backup = lab.tinyvrrp(2, priority=100, **params)
    assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(master, backup)
    return master, backup


def test_status_json_reports_every_documented_field():
    with Lab(routers=2) as lab:
        master, backup = start_pair(lab)
        doc = master.status_json()
        assert set(doc) == {"instances", "interfaces", "groups", "scripts", "notify-fifo", "syncs",
                            "sync-files"}
        [instance] = doc["instances"]
        assert set(instance) == {
            "name", "interface", "vrid", "family", "version", "state", "in-state-ms", "priority",
            "base-priority", "health", "group", "master", "vips", "next-event-ms", "statistics"}
        assert instance["state"] == "MASTER" and instance["master"] == lab.router_ip(1)
        assert instance["vips"] == [lab.vip()] and instance["priority"] == 150
        assert instance["group"] is None and instance["health"] == "ok"
        # Master: its next advert is due within one interval.
        assert 0 <= instance["next-event-ms"] <= 100
        stats = instance["statistics"]
        assert stats["master-transitions"] == 1 and stats["advertisement-sent"] > 0
        assert stats["discontinuity-datetime"].endswith("Z")
        [link] = doc["interfaces"]
        assert link["name"] == "eth0" and link["link"] == "up"
        assert link["statistics"]["checksum-errors"] == 0
        # The backup hears the master and counts its adverts.
        theirs = backup.status_json()["instances"][0]
        assert theirs["state"] == "BACKUP" and theirs["master"] == lab.router_ip(1)
        assert theirs["statistics"]["advertisement-rcvd"] > 0
        # Time in state grows; a SIGTERM handover is counted on both sides.
        time.sleep(0.3)
        assert master.status_json()["instances"][0]["in-state-ms"] >= instance["in-state-ms"] + 250
        assert master.terminate() == 0
        assert lab.wait_holder(2, ELECTION_TIMEOUT, routers=[1, 2]), explain(backup)
        stats = backup.status_json()["instances"][0]["statistics"]
        assert stats["priority-zero-pkts-rcvd"] >= 1 and stats["master-transitions"] == 1


def test_status_tables_for_people_and_sigusr1_logs_them():
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab)
        result = tinyvrrp("status", "--socket", str(master.socket))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        header, row = lines[0].split(), lines[1].split()
        assert header[:6] == ["INSTANCE", "INTERFACE", "VRID", "FAMILY", "VERSION", "STATE"]
        assert row[:6] == ["lan", "eth0", "51", "ipv4", "3", "MASTER"]
        # Columns line up: each value starts where its header does.
        assert lines[1].index("MASTER") == lines[0].index("STATE")
        assert any(line.split() == ["advertisement-rcvd", "0"] for line in lines), result.stdout
        master.signal(signal.SIGUSR1)
        assert wait_until(lambda: "advertisement-sent" in master.log.read_text(), 3.0)


def test_many_clients_and_a_silent_one_never_delay_adverts():
    """Clients that connect and say nothing, or never read, are bounded
    and time out; the master's adverts keep their interval meanwhile."""
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab, advert_ms=50)
        silent = []
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(master.socket))
            silent.append(s)
        with lab.capture() as capture:
            results = []

            def ask():
                results.append(tinyvrrp("status", "--json", "--socket", str(master.socket)))

            # Connections beyond the limit are closed at once; those asking
            # once the silent ones time out (5 s) are answered.
            threads = [threading.Thread(target=ask) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(5.5)
        adverts = [e.time for e in capture.events()
                   if e.kind == "vrrp" and e.src == lab.router_ip(1)]
        gaps = [b - a for a, b in zip(adverts, adverts[1:])]
        assert len(adverts) > 50 and max(gaps) < 0.075, max(gaps)
        for s in silent:
            s.close()
        answered = tinyvrrp("status", "--json", "--socket", str(master.socket))
        assert answered.returncode == 0 and json.loads(answered.stdout)["instances"], answered
        assert master.alive()


def test_reload_over_the_socket_reports_success_or_the_errors_and_keeps_running():
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab)
        config = master.config.read_text()
        extra = lab.vip(2)
        master.config.write_text(config.replace(f"vip {lab.vip()}/24",
                                                f"vip {lab.vip()}/24\n    vip {extra}/24"))
        result = tinyvrrp("reload", "--socket", str(master.socket))
        assert (result.returncode, result.stdout) == (0, "reloaded\n"), result
        assert wait_until(lambda: lab.holders(extra) == [1], 2.0)
        master.config.write_text(config + "instance broken\n    vrid 300\n")
        result = tinyvrrp("reload", "--socket", str(master.socket))
        assert result.returncode == 2, result
        assert f"{master.config}:" in result.stderr and "keeping the running config" in result.stderr
        assert lab.holders(extra) == [1] and master.alive()
        missing = tinyvrrp("status", "--socket", str(lab.dir / "nothing.sock"))
        assert missing.returncode == 1 and "is the daemon running?" in missing.stderr


def test_a_second_daemon_on_the_same_socket_refuses_to_start():
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab)
        second = lab.tinyvrrp(1, priority=150, vrid=52, argv=[
            tinyvrrp_bin(), "run", "--config", str(master.config), "--socket", str(master.socket)])
        assert second.proc.wait(timeout=10) == 1
        assert "another daemon is answering" in second.log.read_text()
        assert master.alive() and tinyvrrp("status", "--socket", str(master.socket)).returncode == 0


def test_rpcd_plugin_lists_and_calls_status():
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab)
        env = {**os.environ, "TINYVRRP": tinyvrrp_bin(), "TINYVRRP_SOCKET": str(master.socket)}
        listing = subprocess.run(["sh", str(RPCD_PLUGIN), "list"], capture_output=True,
                                 text=True, env=env, timeout=10)
        assert json.loads(listing.stdout) == {"status": {}}, listing
        called = subprocess.run(["sh", str(RPCD_PLUGIN), "call", "status"], input="{}",
                                capture_output=True, text=True, env=env, timeout=10)
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["instances"][0]["state"] == "MASTER"


def test_a_healed_partition_is_answered_at_once_and_the_lower_master_steps_down():
    """Split brain: while routers 1 and 2 cannot hear each other both are
    master, and the client follows router 2's gratuitous ARPs. When the
    segment heals, router 1 answers router 2's first advert with its own
    and with gratuitous ARPs (again 5 s later): router 2 steps down and the
    client points at router 1 at once, not when its ARP entry expires."""
    with Lab(routers=2) as lab:
        fifo, fifo_out = lab.dir / "notify.fifo", lab.dir / "fifo.out"
        lab.fifo_reader(1, fifo, fifo_out)
        hook, hook_out = lab.recorder("rx-lower")
        master = lab.tinyvrrp(1, priority=150, head=f"notify-fifo {fifo}\n",
                              extra=[f"notify-master-rx-lower-pri {hook} heard"])
        backup = lab.tinyvrrp(2, priority=100)
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(master, backup)
        assert lab.ping()
        lab.partition(1, 2)
        assert wait_until(lambda: lab.holders(routers=[1, 2]) == [1, 2], ELECTION_TIMEOUT)
        assert wait_until(lambda: lab.neighbour_mac(lab.vip()) == lab.mac(2), 2.0), \
            lab.neighbour(lab.vip())
        with lab.capture() as capture:
            time.sleep(0.2)
            healed = time.time()
            lab.heal()
            assert wait_until(lambda: lab.holders(routers=[1, 2]) == [1], 1.0), explain(master, backup)
            # The client's entry names router 1 again without any traffic.
            assert wait_until(lambda: lab.neighbour_mac(lab.vip()) == lab.mac(1), 0.5), \
                lab.neighbour(lab.vip())
            time.sleep(5.5)
        garps = [e.time for e in capture.events()
                 if e.kind == "arp" and e.src == lab.vip() and e.src_mac == lab.mac(1)]
        first = [t for t in garps if t < healed + 1.0]
        later = [t for t in garps if t >= healed + 4.5]
        assert first and later, (healed, garps)
        assert first[0] - healed < 0.35, (healed, garps)
        assert wait_until(lambda: hook_out.read_text().startswith("heard"), 2.0)
        assert wait_until(lambda: 'INSTANCE "lan" MASTER_RX_LOWER_PRI 150' in fifo_out.read_text(),
                          2.0), fifo_out.read_text()
        stats = master.status_json()["instances"][0]["statistics"]
        assert stats["lower-priority-pkts-rcvd"] >= 1 and stats["master-transitions"] == 1
        assert lab.ping()


def test_pidfile_is_written_at_start_and_removed_at_exit():
    with Lab(routers=1) as lab:
        pidfile = lab.dir / "tinyvrrp.pid"
        node = lab.tinyvrrp(1, priority=150, options=["--pidfile", str(pidfile)])
        assert wait_until(pidfile.exists, 3.0), node.log_tail()
        # `ip netns exec` execs the daemon: its pid is the process's.
        assert pidfile.read_text() == f"{node.proc.pid}\n"
        assert node.terminate() == 0
        assert not pidfile.exists()


def test_syslog_sends_rfc3164_lines_to_dev_log():
    """--syslog: `<PRI>tinyvrrp[PID]: message` datagrams on /dev/log (here
    a socket the test binds inside a private mount namespace)."""
    with Lab(routers=1) as lab:
        node = lab.tinyvrrp(1, priority=150)
        # Started only for its config.
        assert lab.wait_holder(1, ELECTION_TIMEOUT) and node.terminate() == 0
        log_dir = lab.dir / "devlog"
        log_dir.mkdir()
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(str(log_dir / "log"))
        sink.settimeout(5)
        ns = lab.router_ns(1)
        argv = ["unshare", "--mount", "sh", "-c",
                f"mount --bind {log_dir} /dev && exec ip netns exec {ns} {tinyvrrp_bin()} run "
                f"--config {node.config} --syslog --socket {lab.dir / 's.sock'}"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            messages = []
            while not any("entering MASTER state" in m for m in messages):
                messages.append(sink.recv(4096).decode())
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=10)
        # Daemon facility (3): info is <30>, with the pid of the daemon.
        line = next(m for m in messages if "entering MASTER state" in m)
        assert line.startswith("<30>tinyvrrp[") and "]: lan: entering MASTER state" in line, line
        assert b"entering MASTER" not in stderr, "logged to stderr as well"


def test_realtime_runs_under_sched_rr_and_scripts_do_not_inherit_it():
    with Lab(routers=1) as lab:
        policy_out = lab.dir / "policy.out"
        hook = lab.script("policy", f"chrt -p $$ > {policy_out}\n")
        node = lab.tinyvrrp(1, priority=150, extra=[f"notify-master {hook}"],
                            options=["--realtime"])
        assert wait_until(lambda: policy_out.exists() and policy_out.read_text(), 5.0), \
            node.log_tail()
        daemon = subprocess.run(["chrt", "-p", str(node.proc.pid)], capture_output=True,
                                text=True).stdout
        assert "SCHED_RR" in daemon and "priority: 10" in daemon, daemon
        assert "SCHED_OTHER" in policy_out.read_text(), policy_out.read_text()
        status = Path(f"/proc/{node.proc.pid}/status").read_text()
        locked = int(next(l for l in status.splitlines() if l.startswith("VmLck:")).split()[1])
        assert locked > 0, status


BAD_CHECKSUM_SENDER = """
import socket, struct, sys
count = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
# VRRPv3 advert, VRID 51, priority 200, one address, 1 s, checksum wrong.
packet = struct.pack("!BBBBHH4s", 0x31, 51, 200, 1, 100, 0xdead, bytes([10, 0, 0, 9]))
for _ in range(count):
    s.sendto(packet, ("224.0.0.18", 0))
"""


def test_bad_packets_are_counted_each_and_logged_once_a_minute():
    with Lab(routers=2) as lab:
        master, _ = start_pair(lab)
        lab.client_exec("python3", "-c", BAD_CHECKSUM_SENDER, "500")
        assert wait_until(lambda: int(master.status("interface")["checksum-errors"]) == 500, 3.0), \
            master.status("interface")
        lines = [l for l in master.log.read_text().splitlines() if "checksum-errors check" in l]
        assert len(lines) == 1 and "dropped 1 packet(s)" in lines[0], lines
        assert master.status()["state"] == "MASTER" and lab.holders(routers=[1, 2]) == [1]
