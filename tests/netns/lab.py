"""A network lab in namespaces: routers and a client on one bridge.

Used by the netns tests, scripts/demo and scripts/bench. Everything it
creates (namespaces, veths, the bridge, processes, temp files) is removed on
exit, also after an exception. Traffic stays inside its own namespaces.
Standard library only.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_COUNTER = itertools.count()
MULTICAST_GROUP = "224.0.0.18"
# FRR 10 from Debian 13, unpacked (not installed) by scripts/setup-frr10:
# Debian 12's FRR 8.4 lacks the v3 `checksum-with-ipv4-pseudoheader` switch.
FRR10_ROOT = Path(os.environ.get("TINYVRRP_FRR10_ROOT", "/opt/tinyvrrp-lab/frr-trixie"))


def tinyvrrp_bin() -> str:
    return os.environ.get("TINYVRRP_BIN", str(REPO / "target" / "release" / "tinyvrrp"))


def missing_prerequisites() -> list[str]:
    """What keeps the lab from running here, in words."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    for tool in ("ip", "nft", "tcpdump", "keepalived", "ping"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not Path("/usr/lib/frr/vrrpd").exists():
        missing.append("FRR (Debian frr: zebra, vrrpd)")
    if not Path(tinyvrrp_bin()).exists():
        missing.append(f"the tinyvrrp binary at {tinyvrrp_bin()} (cargo build --release)")
    return missing


def explain(lab: "Lab") -> str:
    """Every daemon's log tail, for an assertion message."""
    return "\n".join(f"--- {n.kind} r{n.router} ---\n{n.log_tail()}" for n in lab.nodes)


def assert_steady(lab: "Lab", router: int, routers=(1, 2)):
    """One holder, `router`, for a while, and the client reaches the VIP."""
    for _ in range(5):
        assert lab.holders(routers=list(routers)) == [router], explain(lab)
        time.sleep(0.1)
    assert wait_until(lambda: lab.ping(), 3.0), "the client cannot reach the VIP"


def frr10_missing() -> list[str]:
    # scripts/setup-frr10 writes .complete last.
    if (FRR10_ROOT / ".complete").exists():
        return []
    return [f"FRR 10 at {FRR10_ROOT} (scripts/setup-frr10)"]


def frr_command(daemon: str, frr10: bool) -> list[str]:
    """How to start an FRR daemon: Debian 12's, or Debian 13's FRR 10 run
    by Debian 13's own dynamic loader and libraries."""
    if not frr10:
        return [f"/usr/lib/frr/{daemon}"]
    libs = FRR10_ROOT / "usr/lib/x86_64-linux-gnu"
    return [str(FRR10_ROOT / "usr/lib64/ld-linux-x86-64.so.2"),
            "--library-path", f"{libs}:{libs}/frr",
            str(FRR10_ROOT / "usr/lib/frr" / daemon)]


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def wait_until(predicate, timeout: float, interval: float = 0.02):
    """Polls until predicate() is truthy; returns its value or None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


@dataclass
class Params:
    """One VRRP instance, rendered for tinyvrrp or keepalived."""

    vrid: int = 51
    priority: int = 100
    advert_ms: int = 100
    version: int = 3
    vips: list[str] = field(default_factory=list)
    preempt: bool = True
    auth_pass: str | None = None
    unicast_peers: list[str] = field(default_factory=list)
    unicast_src: str | None = None
    # v3 checksum without the pseudo-header (tinyvrrp `v3-checksum as-v2`).
    checksum_as_v2: bool = False
    # tinyvrrp `garp-delay`, in ms; None keeps its default (5 s).
    garp_delay_ms: int | None = None

    def master_down_s(self, master_advert_ms: int | None = None) -> float:
        """RFC 5798 §6.1 Master_Down_Interval of a backup with these params."""
        interval = (master_advert_ms or self.advert_ms) / 1000
        if self.version == 2:
            return 3 * interval + (256 - self.priority) / 256
        return 3 * interval + (256 - self.priority) * interval / 256

    def skew_s(self, master_advert_ms: int | None = None) -> float:
        interval = (master_advert_ms or self.advert_ms) / 1000
        if self.version == 2:
            return (256 - self.priority) / 256
        return (256 - self.priority) * interval / 256

    def tinyvrrp_config(self) -> str:
        advert = f"{self.advert_ms // 1000}s" if self.version == 2 else f"{self.advert_ms}ms"
        lines = [
            "instance lan",
            "  interface eth0",
            f"  vrid {self.vrid}",
            f"  priority {self.priority}",
            f"  advert {advert}",
            f"  version {self.version}",
            *(f"  vip {vip}" for vip in self.vips),
            f"  preempt {'on' if self.preempt else 'off'}",
        ]
        if self.auth_pass:
            lines.append(f"  auth-pass {self.auth_pass}")
        lines += [f"  unicast-peer {peer}" for peer in self.unicast_peers]
        if self.unicast_src:
            lines.append(f"  unicast-src {self.unicast_src}")
        if self.checksum_as_v2:
            lines.append("  v3-checksum as-v2")
        if self.garp_delay_ms is not None:
            lines.append(f"  garp-delay {self.garp_delay_ms}ms")
        return "\n".join(lines) + "\n"

    def keepalived_config(self) -> str:
        advert = self.advert_ms / 1000
        advert_text = f"{advert:g}"
        vips = "\n".join(f"        {vip}" for vip in self.vips)
        extra = ""
        if self.auth_pass:
            extra += f"    authentication {{\n        auth_type PASS\n        auth_pass {self.auth_pass}\n    }}\n"
        if self.unicast_src:
            extra += f"    unicast_src_ip {self.unicast_src}\n"
        if self.unicast_peers:
            peers = "".join(f"        {peer}\n" for peer in self.unicast_peers)
            extra += f"    unicast_peer {{\n{peers}    }}\n"
        return f"""global_defs {{
    vrrp_version {self.version}
}}
vrrp_instance lan {{
    state BACKUP
    interface eth0
    virtual_router_id {self.vrid}
    priority {self.priority}
    advert_int {advert_text}
    {'' if self.preempt else 'nopreempt'}
{extra}    virtual_ipaddress {{
{vips}
    }}
}}
"""


    def frr_config(self) -> str:
        """FRR vrrpd's config; the VIP itself lives on the macvlan."""
        vrid = self.vrid
        lines = [
            "interface eth0",
            f" vrrp {vrid} version {self.version}",
            f" vrrp {vrid} priority {self.priority}",
            f" vrrp {vrid} advertisement-interval {self.advert_ms}",
            *(f" vrrp {vrid} ip {vip.split('/')[0]}" for vip in self.vips),
        ]
        if not self.preempt:
            lines.append(f" no vrrp {vrid} preempt")
        if self.checksum_as_v2:
            # FRR 10 only; Debian 12's FRR 8.4 refuses the line.
            lines.append(f" no vrrp {vrid} checksum-with-ipv4-pseudoheader")
        return "\n".join(lines) + "\n!\n"


def frr_macvlan(vrid: int) -> str:
    """FRR finds a virtual router's interface by its virtual MAC (RFC 5798
    §7.3); the name is ours."""
    return f"vrrp4-{vrid}"


class Node:
    """A VRRP daemon running in a router namespace."""

    def __init__(self, lab: "Lab", router: int, kind: str, params: Params, argv=None,
                 frr10: bool = False):
        self.lab, self.router, self.kind, self.params = lab, router, kind, params
        self.frr10 = frr10
        self.dir = lab.dir / f"{kind}-r{router}-{next(_COUNTER)}"
        self.dir.mkdir()
        self.log = self.dir / "log"
        ns = lab.router_ns(router)
        self.helpers: list[subprocess.Popen] = []
        if kind == "frr":
            self._start_frr(ns)
            lab.nodes.append(self)
            return
        if kind == "tinyvrrp":
            conf = self.dir / "tinyvrrp.conf"
            conf.write_text(params.tinyvrrp_config())
            self.config = conf
            argv = argv or [tinyvrrp_bin(), "run", "--config", str(conf)]
            cmd = ["ip", "netns", "exec", ns, *argv]
        else:
            conf = self.dir / "keepalived.conf"
            conf.write_text(params.keepalived_config())
            cmd = [
                "ip", "netns", "exec", ns, "keepalived", "--dont-fork", "--vrrp",
                "--log-console", "--log-detail", "-f", str(conf),
                "-p", str(self.dir / "keepalived.pid"), "-r", str(self.dir / "vrrp.pid"),
            ]
        self.started_at = time.monotonic()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        lab.nodes.append(self)

    def _start_frr(self, ns: str):
        """zebra and vrrpd in the foreground, with their own path space
        (-N) and a macvlan carrying the virtual MAC and the VIPs
        (DESIGN.md §3). The daemons run as user frr, so our files are
        readable by it."""
        params = self.params
        macvlan = frr_macvlan(params.vrid)
        # A restart on this router: FRR as a whole comes back, as after a reboot.
        for earlier in self.lab.nodes:
            if earlier.kind == "frr" and earlier.router == self.router:
                for proc in [earlier.proc, *earlier.helpers]:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
        run("ip", "-n", ns, "link", "del", macvlan, check=False)
        run("ip", "-n", ns, "link", "add", macvlan, "link", "eth0", "type", "macvlan", "mode", "bridge")
        run("ip", "-n", ns, "link", "set", macvlan, "address", f"00:00:5e:00:01:{params.vrid:02x}")
        for vip in params.vips:
            run("ip", "-n", ns, "addr", "add", vip, "dev", macvlan)
        # Down to the segment until vrrpd says otherwise (zebra clears it).
        run("ip", "-n", ns, "link", "set", macvlan, "protodown", "on", check=False)
        run("ip", "-n", ns, "link", "set", macvlan, "up")
        for directory in (self.lab.dir, self.dir):
            directory.chmod(0o755)
        conf = self.dir / "vrrpd.conf"
        conf.write_text(params.frr_config())
        conf.chmod(0o644)
        self.config = conf
        run_dir = Path("/var/run/frr") / ns
        # A stale zserv.api from a killed zebra would pass the wait below.
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        shutil.chown(run_dir, "frr", "frr")
        self.run_dir = run_dir
        exec_ns = ["ip", "netns", "exec", ns]
        log = open(self.log, "w")
        # zebra's own log apart: FRR 10's zebra complains at length that
        # there is no mgmtd, which vrrpd does not need.
        zebra_log = open(self.dir / "zebra.log", "w")
        zebra = subprocess.Popen(
            [*exec_ns, *frr_command("zebra", self.frr10), "-N", ns, "-f", "/dev/null",
             "-i", str(run_dir / "zebra.pid"), "--log", "stdout"],
            stdout=zebra_log, stderr=subprocess.STDOUT)
        self.helpers.append(zebra)
        wait_until(lambda: (run_dir / "zserv.api").exists(), 10)
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [*exec_ns, *frr_command("vrrpd", self.frr10), "-N", ns, "-f", str(conf),
             "-i", str(run_dir / "vrrpd.pid"), "--log", "stdout"],
            stdout=log, stderr=subprocess.STDOUT)

    def holds_vip(self) -> bool:
        """FRR keeps the VIP on its macvlan and has zebra set protodown on
        it while backup; it holds the address when the macvlan is up."""
        out = run("ip", "-n", self.lab.router_ns(self.router), "-d", "-j", "link", "show",
                  frr_macvlan(self.params.vrid), check=False).stdout
        links = json.loads(out) if out.strip() else []
        return bool(links) and links[0].get("operstate") == "UP" and not links[0].get("proto_down")

    def pids(self) -> list[int]:
        """The daemon's processes: keepalived forks a VRRP child."""
        pids = [self.proc.pid]
        if self.kind == "keepalived":
            pid_file = self.dir / "vrrp.pid"
            if pid_file.exists() and pid_file.read_text().strip():
                pids.append(int(pid_file.read_text()))
        return pids

    def signal(self, sig: int):
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 10) -> int:
        self.signal(signal.SIGTERM) if self.kind == "tinyvrrp" else self.proc.terminate()
        return self.proc.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def status(self, line: str = "instance") -> dict[str, str]:
        """tinyvrrp's SIGUSR1 status: its newest `status instance=...` (or
        `status interface=...`) line as key=value pairs."""
        marker = f"status {line}="
        before = self.log.read_text().count(marker)
        self.signal(10)
        assert wait_until(lambda: self.log.read_text().count(marker) > before, 3.0)
        newest = [l for l in self.log.read_text().splitlines() if marker in l][-1]
        return dict(word.split("=", 1) for word in newest.split() if "=" in word)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Lab:
    """`routers` router namespaces and a client on one bridge."""

    def __init__(self, routers: int = 3):
        self.id = f"{os.getpid() % 100000}x{next(_COUNTER)}"
        self.net = 10 + (os.getpid() * 7 + next(_COUNTER)) % 240
        self.routers = routers
        self.nodes: list[Node] = []
        self.captures: list[subprocess.Popen] = []
        self.dir = Path(tempfile.mkdtemp(prefix="tinyvrrp-lab-"))
        self.namespaces: list[str] = []

    # Addresses: 10.213.NET.0/24; router i is .i, the client .50, VIPs .100+.
    def router_ip(self, router: int) -> str:
        return f"10.213.{self.net}.{router}"

    def vip(self, n: int = 0) -> str:
        return f"10.213.{self.net}.{100 + n}"

    def client_ip(self) -> str:
        return f"10.213.{self.net}.50"

    def switch_ns(self) -> str:
        return f"tv{self.id}sw"

    def router_ns(self, router: int) -> str:
        return f"tv{self.id}r{router}"

    def client_ns(self) -> str:
        return f"tv{self.id}c"

    def __enter__(self) -> "Lab":
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _create(self):
        sw = self.switch_ns()
        self._add_ns(sw)
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge",
            "stp_state", "0", "mcast_snooping", "0", "forward_delay", "0")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        hosts = [(self.router_ns(r), self.router_ip(r)) for r in range(1, self.routers + 1)]
        hosts.append((self.client_ns(), self.client_ip()))
        for index, (ns, address) in enumerate(hosts):
            self._add_ns(ns)
            port = f"p{index}"
            run("ip", "link", "add", "eth0", "netns", ns, "type", "veth",
                "peer", "name", port, "netns", sw)
            run("ip", "-n", sw, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")

    def _add_ns(self, ns: str):
        run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")

    def close(self):
        for node in self.nodes:
            for proc in [node.proc, *node.helpers]:
                if proc.poll() is None:
                    proc.kill()
                    try:
                        proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
            if node.kind == "frr":
                shutil.rmtree(node.run_dir, ignore_errors=True)
        for capture in self.captures:
            if capture.poll() is None:
                capture.kill()
                capture.wait()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    # Daemons.
    def tinyvrrp(self, router: int, argv=None, **params) -> Node:
        """tinyvrrp with a config from params, or run as `argv` says."""
        params.setdefault("vips", [f"{self.vip()}/24"])
        return Node(self, router, "tinyvrrp", Params(**params), argv)

    def keepalived(self, router: int, **params) -> Node:
        params.setdefault("vips", [f"{self.vip()}/24"])
        return Node(self, router, "keepalived", Params(**params))

    def frr(self, router: int, frr10: bool = False, **params) -> Node:
        """FRR vrrpd: Debian 12's 8.4, or with `frr10` Debian 13's 10.x."""
        params.setdefault("vips", [f"{self.vip()}/24"])
        return Node(self, router, "frr", Params(**params), frr10=frr10)

    def exec(self, router: int, *cmd: str, env=None) -> subprocess.CompletedProcess:
        """Runs a command in a router's namespace; does not raise on failure.
        `env` may change PATH: ip itself is found with ours."""
        return subprocess.run([shutil.which("ip"), "netns", "exec", self.router_ns(router), *cmd],
                              capture_output=True, text=True, env=env, timeout=60)

    def delete_link(self, router: int):
        """Deletes the router's eth0 (and with it its switch port)."""
        run("ip", "-n", self.router_ns(router), "link", "del", "eth0")

    def create_link(self, router: int, address: bool = True, port: str | None = None):
        """Creates the router's eth0 again, as netifd does to a bridge on a
        network restart: a new interface under the old name, up, with its
        address unless `address` is false (then add_address gives it), on
        switch port `port` (default: the router's own, which must be gone)."""
        ns, port = self.router_ns(router), port or f"p{router - 1}"
        run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
            "netns", self.switch_ns())
        run("ip", "-n", self.switch_ns(), "link", "set", port, "master", "br0", "up")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        if address:
            self.add_address(router)

    def add_address(self, router: int):
        run("ip", "-n", self.router_ns(router), "addr", "add", f"{self.router_ip(router)}/24",
            "dev", "eth0")

    def set_port(self, router: int, up: bool):
        """Sets the router's switch port down or up: its eth0 loses or
        regains carrier, as when a cable is pulled."""
        run("ip", "-n", self.switch_ns(), "link", "set", f"p{router - 1}", "up" if up else "down")

    def block_multicast(self):
        """The switch drops VRRP's multicast group between its ports (an
        nftables bridge rule in its namespace), as a segment that filters
        multicast would; unicast still passes."""
        sw = ["ip", "netns", "exec", self.switch_ns(), "nft"]
        run(*sw, "add", "table", "bridge", "vrrp_filter")
        run(*sw, "add", "chain", "bridge", "vrrp_filter", "forward",
            "{ type filter hook forward priority 0; }")
        run(*sw, "add", "rule", "bridge", "vrrp_filter", "forward",
            "ip", "daddr", str(MULTICAST_GROUP), "drop")

    # Observations.
    def addresses(self, router: int) -> list[str]:
        out = run("ip", "-n", self.router_ns(router), "-4", "-o", "addr", "show", "dev", "eth0").stdout
        return [line.split()[3].split("/")[0] for line in out.splitlines()]

    def holders(self, vip: str | None = None, routers=None) -> list[int]:
        """Routers whose eth0 carries the VIP."""
        vip = vip or self.vip()
        routers = routers or range(1, self.routers + 1)
        frr = {n.router: n for n in self.nodes if n.kind == "frr"}
        return [r for r in routers
                if (frr[r].holds_vip() if r in frr else vip in self.addresses(r))]

    def wait_holder(self, router: int, timeout: float, routers=None, settle: float = 0.3) -> bool:
        """Waits until `router`, and no other of `routers`, holds the VIP and
        still does `settle` seconds later (a daemon starting up may hold it
        for a moment before it hears the master)."""
        deadline = time.monotonic() + timeout
        while wait_until(lambda: self.holders(routers=routers) == [router],
                         deadline - time.monotonic()):
            time.sleep(settle)
            if self.holders(routers=routers) == [router]:
                return True
        return False

    def ping(self, address: str | None = None, count: int = 1) -> bool:
        address = address or self.vip()
        result = run("ip", "netns", "exec", self.client_ns(), "ping", "-c", str(count),
                     "-W", "1", "-i", "0.2", address, check=False)
        return result.returncode == 0

    def mac(self, router: int) -> str:
        out = run("ip", "-n", self.router_ns(router), "-o", "link", "show", "dev", "eth0").stdout
        return out.split("link/ether")[1].split()[0]

    def capture(self) -> "Capture":
        return Capture(self)


@dataclass
class Event:
    time: float
    kind: str  # "vrrp" or "arp"
    src: str
    src_mac: str
    version: int = 0
    vrid: int = 0
    priority: int = 0
    interval: int = 0  # v3: centiseconds; v2: seconds
    ttl: int = 0
    addresses: list[str] = field(default_factory=list)
    arp_op: int = 0
    target: str = ""


class Capture:
    """tcpdump on the bridge, as a context manager; `events()` parses it."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.path = lab.dir / f"capture-{next(_COUNTER)}.pcap"

    def __enter__(self) -> "Capture":
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.switch_ns(), "tcpdump", "-i", "br0", "-U", "--immediate-mode",
             "-w", str(self.path), "ip proto 112 or arp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.lab.captures.append(self.proc)
        if not wait_until(lambda: self.path.exists() and self.path.stat().st_size >= 24, 5):
            raise RuntimeError("tcpdump did not start")
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.1)
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=10)

    def events(self) -> list[Event]:
        return parse_pcap(self.path.read_bytes())


def _ip(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def parse_pcap(data: bytes) -> list[Event]:
    """Ethernet pcap (microsecond or nanosecond) to VRRP and ARP events."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    else:
        endian = ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    events, offset = [], 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        when = sec + frac / (1e9 if nano else 1e6)
        if len(frame) < 14:
            continue
        ethertype = struct.unpack(">H", frame[12:14])[0]
        src_mac = _mac(frame[6:12])
        payload = frame[14:]
        if ethertype == 0x0806 and len(payload) >= 28:
            events.append(Event(when, "arp", _ip(payload[14:18]), src_mac,
                                arp_op=struct.unpack(">H", payload[6:8])[0],
                                target=_ip(payload[24:28])))
        elif ethertype == 0x0800 and len(payload) >= 28 and payload[9] == 112:
            ihl = (payload[0] & 0x0F) * 4
            vrrp = payload[ihl:]
            version = vrrp[0] >> 4
            count = vrrp[3]
            interval = vrrp[5] if version == 2 else struct.unpack(">H", vrrp[4:6])[0] & 0x0FFF
            addresses = [_ip(vrrp[8 + 4 * i:12 + 4 * i]) for i in range(count)]
            events.append(Event(when, "vrrp", _ip(payload[12:16]), src_mac, version=version,
                                vrid=vrrp[1], priority=vrrp[2], interval=interval,
                                ttl=payload[8], addresses=addresses))
    return events


@dataclass
class Timeline:
    """What a failover looked like on the wire."""

    old_last_advert: float | None
    new_first_advert: float | None
    new_first_garp: float | None
    priority_zero: float | None

    @property
    def gap(self) -> float | None:
        if self.old_last_advert is None or self.new_first_advert is None:
            return None
        return self.new_first_advert - self.old_last_advert


def timeline(events: list[Event], old: str, new: str, vip: str, after: float = 0.0) -> Timeline:
    """Old master's last non-zero advert, new master's first advert and GARP."""
    adverts = [e for e in events if e.kind == "vrrp" and e.time >= after]
    old_adverts = [e.time for e in adverts if e.src == old and e.priority > 0]
    zero = [e.time for e in adverts if e.src == old and e.priority == 0]
    new_first = next((e.time for e in adverts if e.src == new
                      and (not old_adverts or e.time > old_adverts[-1])), None)
    garp = next((e.time for e in events if e.kind == "arp" and e.src == vip and e.target == vip
                 and new_first is not None and e.time >= new_first - 0.001), None)
    return Timeline(old_adverts[-1] if old_adverts else None, new_first, garp,
                    zero[0] if zero else None)
