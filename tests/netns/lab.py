"""A network lab in namespaces: routers and a client on one bridge, and
with `wan=True` on a second one (eth1 everywhere).

Used by the netns tests, scripts/demo and scripts/bench. Everything it
creates (namespaces, veths, the bridge, processes, temp files) is removed on
exit, also after an exception. Traffic stays inside its own namespaces.
Standard library only.
"""

from __future__ import annotations

import ipaddress
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
MULTICAST_GROUP6 = "ff02::12"
ALL_NODES6 = "ff02::1"
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


def assert_steady(lab: "Lab", router: int, routers=(1, 2), vip: str | None = None):
    """One holder of `vip` (default: the first IPv4 VIP), `router`, for a
    while, and the client reaches it."""
    vip = vip or lab.vip()
    for _ in range(5):
        assert lab.holders(vip=vip, routers=list(routers)) == [router], \
            f"holders of {vip}: {lab.holders(vip=vip, routers=list(routers))}, want [{router}]\n" \
            + explain(lab)
        time.sleep(0.1)
    assert wait_until(lambda: lab.ping(vip), 3.0), f"the client cannot reach {vip}"


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


def family_of(address: str) -> int:
    """4 or 6, for an address with or without a /prefix."""
    return 6 if ":" in address else 4


def canonical(address: str) -> str:
    """An address without its /prefix, in the form `ip` prints it."""
    return ipaddress.ip_address(address.split("/")[0].split("%")[0]).compressed


def virtual_mac(vrid: int, family: int = 4) -> str:
    """RFC 5798 §7.3: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6)."""
    return f"00:00:5e:00:0{1 if family == 4 else 2}:{vrid:02x}"


def tinyvrrp_macvlan(vrid: int, family: int = 4) -> str:
    """The macvlan tinyvrrp creates for `vmac on`."""
    return f"vrrp{family}.{vrid}"


def keepalived_macvlan(vrid: int, family: int = 4) -> str:
    """The name the lab gives keepalived's `use_vmac` interface (keepalived's
    default, vrrp.VRID, would clash for an IPv4 and an IPv6 instance)."""
    return f"ka{family}.{vrid}"


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (children, their children, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in parentheses may hold spaces: split after it.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


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
    # tinyvrrp `preempt-delay`, in ms; None: none.
    preempt_delay_ms: int | None = None
    # tinyvrrp `garp-repeat`; None keeps its default (5).
    garp_repeat: int | None = None
    # The instance's name (tinyvrrp, keepalived).
    name: str = "lan"
    # RFC 5798 §7.3 virtual MAC: tinyvrrp `vmac on`, keepalived `use_vmac`.
    # FRR always uses one.
    vmac: bool = False
    # tinyvrrp `notify SCRIPT`.
    notify: str | None = None
    # The interface the instance runs on (tinyvrrp, keepalived).
    interface: str = "eth0"
    # More tinyvrrp instance lines, written as given (indented) after the
    # rest: `track-interface eth1`, `notify-master /path/x M`, ...
    extra: list[str] = field(default_factory=list)
    # keepalived's initial `state` (an address owner's is MASTER: with
    # BACKUP keepalived waits for Master_Down_Interval even at 255).
    keepalived_state: str = "BACKUP"

    @property
    def family(self) -> int:
        """4 or 6: the family of the VIPs (one instance holds one family)."""
        return family_of(self.vips[0]) if self.vips else 4

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
            f"instance {self.name}",
            f"  interface {self.interface}",
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
        if self.preempt_delay_ms is not None:
            lines.append(f"  preempt-delay {self.preempt_delay_ms}ms")
        if self.garp_repeat is not None:
            lines.append(f"  garp-repeat {self.garp_repeat}")
        if self.vmac:
            lines.append("  vmac on")
        if self.notify:
            lines.append(f"  notify {self.notify}")
        lines += [f"  {line}" for line in self.extra]
        return "\n".join(lines) + "\n"

    def tinyvrrp_uci(self) -> str:
        """The same instance in OpenWrt's UCI syntax (/etc/config/tinyvrrp)."""
        advert = f"{self.advert_ms // 1000}s" if self.version == 2 else f"{self.advert_ms}ms"
        options = [
            ("option", "interface", self.interface),
            ("option", "vrid", self.vrid),
            ("option", "priority", self.priority),
            ("option", "advert", advert),
            ("option", "version", self.version),
            *(("list", "vip", vip) for vip in self.vips),
            ("option", "preempt", int(self.preempt)),
            *(("list", "unicast-peer", peer) for peer in self.unicast_peers),
        ]
        if self.unicast_src:
            options.append(("option", "unicast-src", self.unicast_src))
        if self.garp_delay_ms is not None:
            options.append(("option", "garp-delay", f"{self.garp_delay_ms}ms"))
        if self.preempt_delay_ms is not None:
            options.append(("option", "preempt-delay", f"{self.preempt_delay_ms}ms"))
        if self.garp_repeat is not None:
            options.append(("option", "garp-repeat", self.garp_repeat))
        if self.vmac:
            options.append(("option", "vmac", 1))
        if self.notify:
            options.append(("option", "notify", self.notify))
        body = "".join(f"\t{kind} {key} '{value}'\n" for kind, key, value in options)
        return f"config instance '{self.name}'\n{body}"

    def keepalived_config(self, global_defs: list[str] | None = None) -> str:
        """keepalived's whole config for this one instance; `global_defs`:
        more lines for its global_defs block (e.g. `vrrp_rt_priority 50`)."""
        return keepalived_config([self], global_defs)

    def keepalived_instance(self) -> str:
        """This instance's vrrp_instance block for keepalived."""
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
        if self.family == 6:
            # keepalived 2.2.7 takes an instance's family from its VIPs;
            # native_ipv6 says it outright (and refuses an IPv4 VIP).
            extra += "    native_ipv6\n"
        if self.vmac:
            extra += f"    use_vmac {keepalived_macvlan(self.vrid, self.family)}\n"
        return f"""vrrp_instance {self.name} {{
    state {self.keepalived_state}
    interface {self.interface}
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
            *(f" vrrp {vrid} {'ipv6' if family_of(vip) == 6 else 'ip'} {vip.split('/')[0]}"
              for vip in self.vips),
        ]
        if not self.preempt:
            lines.append(f" no vrrp {vrid} preempt")
        if self.checksum_as_v2:
            # FRR 10 only; Debian 12's FRR 8.4 refuses the line.
            lines.append(f" no vrrp {vrid} checksum-with-ipv4-pseudoheader")
        return "\n".join(lines) + "\n!\n"


# linux/capability.h, for the capabilities tests name.
CAPABILITIES = {"net_admin": 12, "net_raw": 13, "ipc_lock": 14, "sys_nice": 23}


def process_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict (Uid, Gid, Groups, CapEff, NoNewPrivs, ...)."""
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


@dataclass
class Privileges:
    """tinyvrrp run without root, as a service manager starts it (systemd's
    User=, AmbientCapabilities=, CapabilityBoundingSet= and
    NoNewPrivileges=; procd's user, capabilities and no_new_privs): as
    `uid`:`gid` with no supplementary groups, `caps` alone in its
    inheritable, ambient and bounding sets (so, after exec, in the permitted
    and effective ones too), and no_new_privs; through util-linux setpriv,
    which execs the daemon (its pid stays the process's).

    `before`: a command line run as root before setpriv that ends by
    exec'ing its last arguments (e.g. `unshare -m sh -c '...; exec "$@"' sh`)."""

    uid: int = 65534
    gid: int = 65534
    caps: tuple[str, ...] = ("net_raw", "net_admin")
    no_new_privs: bool = True
    before: tuple[str, ...] = ()

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run with these privileges."""
        caps = ",".join(["-all", *(f"+{cap}" for cap in self.caps)])
        setpriv = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                   f"--inh-caps={caps}", f"--ambient-caps={caps}", f"--bounding-set={caps}",
                   *(["--no-new-privs"] if self.no_new_privs else []), "--"]
        return [*self.before, *setpriv, *argv]

    def prepare(self, lab: "Lab", node_dir: Path, config: Path):
        """The files as a deployment sets them up: the lab's directory
        traversable, the node's own directory the daemon's (as
        /run/tinyvrrp is: the notify FIFO may be created there), the config
        readable by its group only (root:GID 0640)."""
        lab.dir.chmod(0o755)
        os.chown(node_dir, self.uid, self.gid)
        node_dir.chmod(0o750)
        os.chown(config, 0, self.gid)
        config.chmod(0o640)

    def mask(self) -> int:
        """The capabilities as /proc/PID/status shows them (bits)."""
        return sum(1 << CAPABILITIES[cap] for cap in self.caps)

    def assert_applied(self, node: "Node"):
        """The daemon itself (not a wrapper) runs as uid:gid with no other
        group, exactly these capabilities in every set, and no_new_privs as
        asked."""
        pid = node.proc.pid
        # ip netns exec, then setpriv, exec the daemon in that process.
        assert wait_until(lambda: Path(f"/proc/{pid}/comm").read_text().strip() == "tinyvrrp",
                          5.0), explain(node.lab)
        status = process_status(pid)
        assert status["Uid"].split() == [str(self.uid)] * 4, status["Uid"]
        assert status["Gid"].split() == [str(self.gid)] * 4, status["Gid"]
        assert status["Groups"].split() == [], status["Groups"]
        for key in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
            assert int(status[key], 16) == self.mask(), \
                f"{key} {status[key]}, want {self.mask():016x}"
        assert status["NoNewPrivs"] == str(int(self.no_new_privs))

    @staticmethod
    def binary(lab: "Lab") -> str:
        """The host binary, copied into the lab's directory (root-owned,
        0755), so that another user can run it whatever the modes of the
        directories above the build's."""
        copy = lab.dir / "tinyvrrp"
        if not copy.exists():
            shutil.copy(tinyvrrp_bin(), copy)
            copy.chmod(0o755)
        return str(copy)


def keepalived_config(instances: list[Params], global_defs: list[str] | None = None) -> str:
    """keepalived's config for `instances` (their VRRP version is the
    first's: keepalived sets it globally), with more `global_defs` lines."""
    lines = [f"vrrp_version {instances[0].version}", *(global_defs or [])]
    head = "global_defs {\n" + "".join(f"    {line}\n" for line in lines) + "}\n"
    return head + "".join(instance.keepalived_instance() for instance in instances)


def frr_macvlan(vrid: int, family: int = 4) -> str:
    """FRR finds a virtual router's interface by its virtual MAC (RFC 5798
    §7.3: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6), one
    macvlan per family; the name is ours."""
    return f"vrrp{family}-{vrid}"


def frr_macvlan_ll(router: int) -> str:
    """The link-local address the lab gives FRR's IPv6 macvlan on `router`:
    FRR sends IPv6 adverts from it, so it must differ between routers (an
    EUI-64 one from the shared virtual MAC would not; FRR's docs ask for
    addrgenmode random, the lab sets a fixed one)."""
    return f"fe80::b:{router}"


class Node:
    """A VRRP daemon running in a router namespace."""

    def __init__(self, lab: "Lab", router: int, kind: str, params: Params, argv=None,
                 frr10: bool = False, more: list[Params] | None = None, uci: bool = False,
                 program: list[str] | None = None, head: str = "", tail: str = "",
                 options: list[str] | None = None, privileges: Privileges | None = None,
                 wrap: list[str] | None = None, global_defs: list[str] | None = None):
        """`more`: further instances in the same config (tinyvrrp, keepalived);
        `uci`: tinyvrrp's config in UCI syntax; `program`: how to run
        tinyvrrp, default `[tinyvrrp_bin()]` (e.g. `["qemu-mips-static",
        IMAGE]`: qemu-user runs the guest in its own process, so the
        process's pid takes the signals); `head`, `tail`: tinyvrrp config
        text before the instances (global lines such as `notify-fifo`,
        `script` blocks) and after them (`group` blocks); `options`: more
        arguments of the daemon (tinyvrrp: of `run`); `privileges`: tinyvrrp
        runs without root, as they say (its files set up for it; the host
        binary is a copy readable by all); `wrap`: a command the daemon runs
        under, in the namespace (e.g. `["chrt", "-f", "10"]`: the daemon's
        own pid is then the wrapper's, which must exec it); `global_defs`:
        more lines for keepalived's global_defs."""
        self.lab, self.router, self.kind, self.params = lab, router, kind, params
        self.instances = [params, *(more or [])]
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
            render = Params.tinyvrrp_uci if uci else Params.tinyvrrp_config
            conf.write_text(head + "".join(render(instance) for instance in self.instances)
                            + tail)
            self.config = conf
            # The status socket is a file: one per daemon, wherever it runs.
            self.socket = self.dir / "tinyvrrp.sock"
            if privileges:
                privileges.prepare(lab, self.dir, conf)
                program = program or [Privileges.binary(lab)]
            argv = argv or [*(program or [tinyvrrp_bin()]), "run", "--config", str(conf),
                            *(options or [])]
            if "--socket" not in argv:
                argv = [*argv, "--socket", str(self.socket)]
            if privileges:
                argv = privileges.command(argv)
            cmd = ["ip", "netns", "exec", ns, *(wrap or []), *argv]
        else:
            conf = self.dir / "keepalived.conf"
            conf.write_text(keepalived_config(self.instances, global_defs))
            cmd = [
                "ip", "netns", "exec", ns, *(wrap or []), "keepalived", "--dont-fork", "--vrrp",
                # --no-syslog: keepalived also logs every line through
                # syslog(3), which without /dev/log falls back to
                # /dev/console, on a VM a serial port whose writes block it
                # for milliseconds each.
                "--log-console", "--log-detail", "--no-syslog", "-f", str(conf),
                "-p", str(self.dir / "keepalived.pid"), "-r", str(self.dir / "vrrp.pid"),
                *(options or []),
            ]
        self.started_at = time.monotonic()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        lab.nodes.append(self)

    def _start_frr(self, ns: str):
        """zebra and vrrpd in the foreground, with their own path space
        (-N) and a macvlan carrying the virtual MAC and the VIPs
        (vrrpd finds a virtual router's interface by its virtual MAC). The daemons run as user frr, so our files are
        readable by it."""
        params = self.params
        # A restart on this router: FRR as a whole comes back, as after a reboot.
        for earlier in self.lab.nodes:
            if earlier.kind == "frr" and earlier.router == self.router:
                for proc in [earlier.proc, *earlier.helpers]:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
        for family in (4, 6):
            run("ip", "-n", ns, "link", "del", frr_macvlan(params.vrid, family), check=False)
        # FRR leaves ARP to the kernel: as its deployments do, eth0 answers
        # only for its own addresses (not the VIP on the macvlan, even while
        # protodown) and names its own address in the requests it sends.
        run("ip", "netns", "exec", ns, "sysctl", "-qw",
            "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2")
        for family in sorted({family_of(vip) for vip in params.vips}):
            macvlan = frr_macvlan(params.vrid, family)
            run("ip", "-n", ns, "link", "add", macvlan, "link", "eth0", "type", "macvlan",
                "mode", "bridge")
            run("ip", "-n", ns, "link", "set", macvlan, "address", virtual_mac(params.vrid, family))
            if family == 6:
                run("ip", "-n", ns, "link", "set", macvlan, "addrgenmode", "none")
            for vip in params.vips:
                if family_of(vip) == family:
                    run("ip", "-n", ns, "addr", "add", vip, "dev", macvlan,
                        *(["nodad"] if family == 6 else []))
            if family == 6:
                # vrrpd sends IPv6 adverts from a link-local of the macvlan:
                # the one the kernel lists first, the newest. Added last, that
                # is the router's own, not the link-local VIP.
                run("ip", "-n", ns, "addr", "add", f"{frr_macvlan_ll(self.router)}/64",
                    "dev", macvlan, "nodad")
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

    def holds_vip(self, vip: str | None = None) -> bool:
        """FRR keeps the VIP on its macvlan and has zebra set protodown on
        it while backup; it holds the address when the macvlan is up."""
        return self.router in self.lab.holders(vip or self.params.vips[0], routers=[self.router])

    def advert_source(self) -> str:
        """The source address of this node's adverts: IPv4, the router's
        eth0 address; IPv6, eth0's link-local, except FRR, which sends from
        its macvlan's link-local."""
        if self.params.family == 4:
            return self.lab.router_ip(self.router)
        if self.kind == "frr":
            return frr_macvlan_ll(self.router)
        return self.lab.router_ll(self.router)

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

    def status_json(self) -> dict:
        """`tinyvrrp status --json` from this daemon's socket."""
        result = subprocess.run([tinyvrrp_bin(), "status", "--json", "--socket", str(self.socket)],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stderr + self.log_tail()
        return json.loads(result.stdout)

    def status(self, line: str = "instance", name: str | None = None) -> dict[str, str]:
        """One record of the status (an instance, or with `line` an
        interface, group or script; the first, or the one `name`s), its
        fields and statistics as text: null is `none`, lists are joined by
        commas."""
        key = {"instance": "instances", "interface": "interfaces", "group": "groups",
               "script": "scripts"}[line]
        records = self.status_json()[key]
        record = next(r for r in records if name is None or r["name"] == name)
        flat = {k: v for k, v in record.items() if k != "statistics"}
        flat.update(record.get("statistics", {}))

        def text(value) -> str:
            if value is None:
                return "none"
            if isinstance(value, list):
                return ",".join(value) or "none"
            return str(value)
        return {k: text(v) for k, v in flat.items()}

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Lab:
    """`routers` router namespaces and a client on one bridge (br0, eth0
    everywhere); with `wan`, on a second one too (br1, eth1 everywhere)."""

    def __init__(self, routers: int = 3, wan: bool = False):
        self.id = f"{os.getpid() % 100000}x{next(_COUNTER)}"
        self.net = 10 + (os.getpid() * 7 + next(_COUNTER)) % 240
        self.routers = routers
        self.wan = wan
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

    # IPv6, the same on every lab (each lab is its own segment): router i is
    # fe80::a:i and 2001:db8:1::i, the client fe80::a:50 and 2001:db8:1::50.
    # Each eth0 has exactly that one link-local (addrgenmode none): the
    # source of its IPv6 adverts. An IPv6 instance's VIPs are fe80::1 (RFC
    # 5798 §5.2.9: the first is link-local), then 2001:db8:1::100+n. DAD is
    # off in every namespace, so addresses are usable at once.
    def router_ip6(self, router: int) -> str:
        return f"2001:db8:1::{router}"

    def router_ll(self, router: int) -> str:
        return f"fe80::a:{router}"

    def client_ip6(self) -> str:
        return "2001:db8:1::50"

    def client_ll(self) -> str:
        return "fe80::a:50"

    def vip6(self, n: int = 0) -> str:
        """The n-th global IPv6 VIP."""
        return f"2001:db8:1::{100 + n}"

    def vip6_ll(self) -> str:
        """The link-local VIP, first in an IPv6 instance's list."""
        return "fe80::1"

    def vips6(self, count: int = 1) -> list[str]:
        """An IPv6 instance's VIP list: the link-local, then `count` global."""
        return [f"{self.vip6_ll()}/64", *(f"{self.vip6(n)}/64" for n in range(count))]

    # The second segment (wan=True), IPv4 only: 10.214.NET.0/24 on eth1,
    # router i is .i, the client .50, VIPs .100+.
    def wan_ip(self, router: int) -> str:
        return f"10.214.{self.net}.{router}"

    def wan_vip(self, n: int = 0) -> str:
        return f"10.214.{self.net}.{100 + n}"

    def client_wan_ip(self) -> str:
        return f"10.214.{self.net}.50"

    @staticmethod
    def port(router: int, dev: str = "eth0") -> str:
        """The switch port of a router's eth0 (p0, p1, ...) or eth1 (w0, w1, ...)."""
        return f"{'w' if dev == 'eth1' else 'p'}{router - 1}"

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
        if self.wan:
            run("ip", "-n", sw, "link", "add", "br1", "type", "bridge",
                "stp_state", "0", "mcast_snooping", "0", "forward_delay", "0")
            run("ip", "-n", sw, "link", "set", "br1", "up")
        for router in range(1, self.routers + 1):
            self._add_ns(self.router_ns(router))
            # A router forwards IPv6 (keepalived and the kernel set the R
            # flag in their Neighbor Advertisements from that).
            self._sysctl(self.router_ns(router), "net.ipv6.conf.all.forwarding=1")
            self.create_link(router)
            if self.wan:
                self.create_link(router, dev="eth1")
        self._add_ns(self.client_ns())
        self._add_host_link(self.client_ns(), f"p{self.routers}")
        self._add_addresses(self.client_ns(), self.client_ip(), self.client_ll(), self.client_ip6())
        if self.wan:
            self._add_host_link(self.client_ns(), f"w{self.routers}", dev="eth1", bridge="br1")
            run("ip", "-n", self.client_ns(), "addr", "add", f"{self.client_wan_ip()}/24",
                "dev", "eth1")

    def _add_ns(self, ns: str):
        run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        # No duplicate address detection: link-local addresses (and IPv6
        # VIPs) are usable at once, not "tentative" for a second or more.
        self._sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")

    @staticmethod
    def _sysctl(ns: str, *settings: str):
        run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", *settings)

    def _add_host_link(self, ns: str, port: str, dev: str = "eth0", bridge: str = "br0",
                       up: bool = True):
        """`dev` in `ns` on switch port `port` of `bridge`, up unless `up` is
        false, with no address yet and no kernel-made link-local
        (addrgenmode none)."""
        run("ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", port,
            "netns", self.switch_ns())
        run("ip", "-n", self.switch_ns(), "link", "set", port, "master", bridge, "up")
        run("ip", "-n", ns, "link", "set", dev, "addrgenmode", "none")
        self._sysctl(ns, f"net.ipv6.conf.{dev}.accept_dad=0")
        if up:
            run("ip", "-n", ns, "link", "set", dev, "up")

    @staticmethod
    def _add_addresses(ns: str, ip4: str, ll: str, ip6: str):
        run("ip", "-n", ns, "addr", "add", f"{ip4}/24", "dev", "eth0")
        for address in (ll, ip6):
            run("ip", "-n", ns, "addr", "add", f"{address}/64", "dev", "eth0", "nodad")

    def close(self):
        for node in self.nodes:
            for proc in [node.proc, *node.helpers]:
                if proc.poll() is None:
                    # keepalived's VRRP child outlives a SIGKILL of its
                    # parent for as long as its own shutdown takes (seconds
                    # with hundreds of VIPs on a busy machine).
                    for child in descendants(proc.pid):
                        try:
                            os.kill(child, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
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
    def params(self, family: int = 4, **params) -> Params:
        """Params with the lab's VIPs of `family` unless `vips` is given:
        IPv4 the first VIP /24, IPv6 `vips6()` (link-local, then global)."""
        params.setdefault("vips", [f"{self.vip()}/24"] if family == 4 else self.vips6())
        return Params(**params)

    def tinyvrrp(self, router: int, argv=None, family: int = 4,
                 instances: list[Params] | None = None, uci: bool = False,
                 program: list[str] | None = None, head: str = "", tail: str = "",
                 options: list[str] | None = None, privileges: Privileges | None = None,
                 wrap: list[str] | None = None,
                 **params) -> Node:
        """tinyvrrp with a config from params (or from several `instances`,
        e.g. `lab.params(4, name="lan4")` and `lab.params(6, name="lan6")`),
        in UCI syntax with `uci`, started as `program` (default: the host
        binary; e.g. `["qemu-mips-static", IMAGE]` for a router image under
        qemu-user); or run as `argv` says. `head` and `tail`: config text
        before and after the instances, `options` for `run`, `wrap` a
        command to run it under (see Node). `privileges`: without root (see
        Privileges)."""
        if instances:
            return Node(self, router, "tinyvrrp", instances[0], argv, more=instances[1:], uci=uci,
                        program=program, head=head, tail=tail, options=options,
                        privileges=privileges, wrap=wrap)
        return Node(self, router, "tinyvrrp", self.params(family, **params), argv, uci=uci,
                    program=program, head=head, tail=tail, options=options,
                    privileges=privileges, wrap=wrap)

    def keepalived(self, router: int, family: int = 4, instances: list[Params] | None = None,
                   global_defs: list[str] | None = None, wrap: list[str] | None = None,
                   options: list[str] | None = None, **params) -> Node:
        """keepalived with a config from params, or from several
        `instances`; `global_defs`: more lines for its global_defs block;
        `wrap`: a command to run it under; `options`: more arguments (see
        Node)."""
        if instances:
            return Node(self, router, "keepalived", instances[0], more=instances[1:],
                        global_defs=global_defs, wrap=wrap, options=options)
        return Node(self, router, "keepalived", self.params(family, **params),
                    global_defs=global_defs, wrap=wrap, options=options)

    def frr(self, router: int, frr10: bool = False, family: int = 4, **params) -> Node:
        """FRR vrrpd: Debian 12's 8.4, or with `frr10` Debian 13's 10.x."""
        return Node(self, router, "frr", self.params(family, **params), frr10=frr10)

    def exec(self, router: int, *cmd: str, env=None) -> subprocess.CompletedProcess:
        """Runs a command in a router's namespace; does not raise on failure.
        `env` may change PATH: ip itself is found with ours."""
        return subprocess.run([shutil.which("ip"), "netns", "exec", self.router_ns(router), *cmd],
                              capture_output=True, text=True, env=env, timeout=60)

    def client_exec(self, *cmd: str) -> subprocess.CompletedProcess:
        """Runs a command in the client's namespace; raises on failure."""
        return run("ip", "netns", "exec", self.client_ns(), *cmd)

    def delete_link(self, router: int, dev: str = "eth0"):
        """Deletes the router's eth0 (or eth1), and with it its switch port."""
        run("ip", "-n", self.router_ns(router), "link", "del", dev)

    def create_link(self, router: int, address: bool = True, port: str | None = None,
                    dev: str = "eth0", up: bool = True):
        """Creates the router's eth0 (or eth1) again, as netifd does to a
        bridge on a network restart: a new interface under the old name, up
        unless `up` is false (then set_link brings it up), with its address
        unless `address` is false (then add_address gives it), on switch
        port `port` (default: the router's own, which must be gone)."""
        bridge = "br1" if dev == "eth1" else "br0"
        self._add_host_link(self.router_ns(router), port or self.port(router, dev), dev=dev,
                            bridge=bridge, up=up)
        if address:
            self.add_address(router, dev=dev)

    def add_address(self, router: int, dev: str = "eth0"):
        """The router's addresses on eth0: IPv4, then link-local and global
        IPv6; on eth1 its IPv4 WAN address."""
        if dev == "eth1":
            run("ip", "-n", self.router_ns(router), "addr", "add", f"{self.wan_ip(router)}/24",
                "dev", "eth1")
            return
        self._add_addresses(self.router_ns(router), self.router_ip(router),
                            self.router_ll(router), self.router_ip6(router))

    def set_link(self, router: int, up: bool, dev: str = "eth1"):
        """`ip link set DEV up|down` in the router's namespace (the
        administrative state, as an operator or netifd sets it)."""
        run("ip", "-n", self.router_ns(router), "link", "set", dev, "up" if up else "down")

    def add_ipv4(self, router: int, address: str, dev: str = "eth0"):
        """One more IPv4 address (with /prefix) on a router's interface."""
        run("ip", "-n", self.router_ns(router), "addr", "add", address, "dev", dev)

    def set_port(self, router: int, up: bool, dev: str = "eth0"):
        """Sets the router's switch port down or up: its eth0 (or eth1)
        loses or regains carrier, as when a cable is pulled."""
        run("ip", "-n", self.switch_ns(), "link", "set", self.port(router, dev),
            "up" if up else "down")

    # Files for the daemons (in the lab's directory, removed with it).
    def script(self, name: str, body: str) -> Path:
        """An executable /bin/sh script `name` with `body`."""
        path = self.dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
        return path

    def recorder(self, name: str) -> tuple[Path, Path]:
        """A script that appends its arguments as one line to a file (for
        notify scripts): (the script, the file). The file starts empty."""
        out = self.dir / f"{name}.out"
        out.write_text("")
        return self.script(name, f'echo "$*" >> {out}\n'), out

    def fifo_reader(self, router: int, fifo: Path, out: Path) -> subprocess.Popen:
        """Makes the FIFO `fifo` (if missing) and copies what is written to
        it into `out`, from a `cat` in the router's namespace that holds the
        FIFO open read-write: it never sees end of file, so it reads every
        line whether a writer keeps the FIFO open or opens it per line.
        Start it before the daemon; it ends with the lab."""
        if not fifo.exists():
            os.mkfifo(fifo)
        out.write_text("")
        fd = os.open(fifo, os.O_RDWR)
        try:
            with open(out, "ab") as sink:
                proc = subprocess.Popen(["ip", "netns", "exec", self.router_ns(router), "cat"],
                                        stdin=fd, stdout=sink, stderr=subprocess.DEVNULL)
        finally:
            os.close(fd)
        self.captures.append(proc)
        return proc

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
        run(*sw, "add", "rule", "bridge", "vrrp_filter", "forward",
            "ip6", "daddr", str(MULTICAST_GROUP6), "drop")

    def partition(self, a: int, b: int):
        """The switch stops forwarding between routers `a` and `b` (both
        ways; the client still reaches both): a split segment."""
        sw = ["ip", "netns", "exec", self.switch_ns(), "nft"]
        run(*sw, "add", "table", "bridge", "partition")
        run(*sw, "add", "chain", "bridge", "partition", "forward",
            "{ type filter hook forward priority 0; }")
        for src, dst in ((a, b), (b, a)):
            run(*sw, "add", "rule", "bridge", "partition", "forward",
                "iifname", self.port(src), "oifname", self.port(dst), "drop")

    def heal(self):
        """Undoes `partition`."""
        run("ip", "netns", "exec", self.switch_ns(), "nft", "delete", "table", "bridge",
            "partition")

    # Observations.
    def addresses(self, router: int, family: int = 4, dev: str = "eth0") -> list[str]:
        """A router's addresses of `family` on `dev` (IPv6: link-local too),
        without prefix; [] if `dev` does not exist."""
        out = run("ip", "-n", self.router_ns(router), f"-{family}", "-o", "addr", "show",
                  "dev", dev, check=False).stdout
        return [line.split()[3].split("/")[0] for line in out.splitlines()]

    def links(self, ns: str) -> list[dict]:
        """`ip -d -j addr show` of a namespace: every interface with its
        flags, operstate, proto_down, linkinfo, address and addr_info."""
        out = run("ip", "-n", ns, "-d", "-j", "addr", "show", check=False).stdout
        return json.loads(out) if out.strip() else []

    def link(self, router: int, name: str) -> dict | None:
        """One interface of a router as `links` shows it, or None."""
        return next((l for l in self.links(self.router_ns(router)) if l["ifname"] == name), None)

    def holds(self, router: int, vip: str, links: list[dict] | None = None) -> bool:
        """Whether `router` answers for `vip`: eth0 (or eth1) carries it, or
        a macvlan (a virtual MAC's: tinyvrrp `vmac on`, keepalived
        `use_vmac`, FRR) carries it and is up and not protodown (FRR's
        backup state). `links`: the router's `links`, if already read."""
        vip = canonical(vip)
        for link in links if links is not None else self.links(self.router_ns(router)):
            if vip not in (a.get("local") for a in link.get("addr_info", [])):
                continue
            if link["ifname"] in ("eth0", "eth1"):
                return True
            if (link.get("linkinfo", {}).get("info_kind") == "macvlan"
                    and "UP" in link.get("flags", []) and not link.get("proto_down")):
                return True
        return False

    def holders(self, vip: str | None = None, routers=None) -> list[int]:
        """Routers that hold the VIP (see `holds`); default: the first IPv4 VIP."""
        vip = vip or self.vip()
        routers = routers or range(1, self.routers + 1)
        return [r for r in routers if self.holds(r, vip)]

    def holders_of(self, vips: list[str], routers=None) -> dict[str, list[int]]:
        """`holders` of several VIPs from one look at each router."""
        routers = routers or range(1, self.routers + 1)
        links = {r: self.links(self.router_ns(r)) for r in routers}
        return {vip: [r for r in routers if self.holds(r, vip, links[r])] for vip in vips}

    def wait_holder(self, router: int, timeout: float, routers=None, settle: float = 0.3,
                    vip: str | None = None) -> bool:
        """Waits until `router`, and no other of `routers`, holds the VIP and
        still does `settle` seconds later (a daemon starting up may hold it
        for a moment before it hears the master)."""
        deadline = time.monotonic() + timeout
        while wait_until(lambda: self.holders(vip=vip, routers=routers) == [router],
                         deadline - time.monotonic()):
            time.sleep(settle)
            if self.holders(vip=vip, routers=routers) == [router]:
                return True
        return False

    def ping(self, address: str | None = None, count: int = 1) -> bool:
        """The client pings `address` (default: the first IPv4 VIP); IPv6
        with `ping -6`, a link-local one through eth0."""
        address = canonical(address or self.vip())
        if family_of(address) == 6:
            target = f"{address}%eth0" if address.startswith("fe80:") else address
            argv = ["ping", "-6", target]
        else:
            argv = ["ping", address]
        result = run("ip", "netns", "exec", self.client_ns(), *argv[:-1], "-c", str(count),
                     "-W", "1", "-i", "0.2", argv[-1], check=False)
        return result.returncode == 0

    def ping6(self, address: str | None = None, count: int = 1) -> bool:
        """`ping -6` from the client to `address` (default: the global IPv6 VIP)."""
        return self.ping(address or self.vip6(), count)

    def neighbour(self, address: str) -> dict | None:
        """The client's neighbour entry for `address` (`ip neigh`/`ip -6
        neigh` as JSON: dst, lladdr, state list, and "router" for IPv6
        entries of routers), or None."""
        address = canonical(address)
        out = run("ip", "-n", self.client_ns(), "-j", f"-{family_of(address)}", "neigh", "show",
                  "to", address, "dev", "eth0", check=False).stdout
        entries = [e for e in (json.loads(out) if out.strip() else []) if e.get("dst") == address]
        return entries[0] if entries else None

    def neighbour_mac(self, address: str) -> str | None:
        """The MAC the client's neighbour cache names for `address`, or None
        (no entry, or one still unresolved / failed)."""
        entry = self.neighbour(address)
        return entry.get("lladdr") if entry else None

    def flush_neighbours(self):
        """Empties the client's neighbour caches (ARP and IPv6)."""
        run("ip", "-n", self.client_ns(), "neigh", "flush", "dev", "eth0", check=False)
        run("ip", "-n", self.client_ns(), "-6", "neigh", "flush", "dev", "eth0", check=False)

    def mac(self, router: int, dev: str = "eth0") -> str:
        out = run("ip", "-n", self.router_ns(router), "-o", "link", "show", "dev", dev).stdout
        return out.split("link/ether")[1].split()[0]

    def client_mac(self) -> str:
        out = run("ip", "-n", self.client_ns(), "-o", "link", "show", "dev", "eth0").stdout
        return out.split("link/ether")[1].split()[0]

    def capture(self, filter: str | None = None, bpf: str | None = None,
                snaplen: int | None = None, buffer_kib: int | None = None,
                start_timeout: float = 5) -> "Capture":
        """A capture on the bridge (see Capture)."""
        return Capture(self, filter, bpf, snaplen, buffer_kib, start_timeout)


@dataclass
class Event:
    """One frame of interest. `src`/`dst` are IP addresses (ARP: sender and
    target protocol addresses are `src` and `target`)."""

    time: float
    kind: str  # "vrrp", "arp", "ns" or "na" (ICMPv6 Neighbor Solicitation / Advertisement)
    src: str
    src_mac: str
    version: int = 0
    vrid: int = 0
    priority: int = 0
    interval: int = 0  # v3: centiseconds; v2: seconds
    ttl: int = 0  # IPv4 TTL or IPv6 hop limit
    addresses: list[str] = field(default_factory=list)
    arp_op: int = 0
    target: str = ""  # ARP target address; NS/NA target address
    family: int = 4
    dst: str = ""
    dst_mac: str = ""
    # Neighbor Advertisement flags (RFC 4861 §4.4) and its target
    # link-layer address option ("" if absent); NS: the source link-layer
    # address option.
    router: bool = False
    solicited: bool = False
    override: bool = False
    lladdr: str = ""


class Capture:
    """tcpdump on the bridge, as a context manager; `events()` parses it.
    `bpf`: another capture filter (default: VRRP, ARP and ICMPv6);
    `snaplen`: bytes kept of each frame (default: all); `buffer_kib`:
    tcpdump's kernel buffer (-B), for high packet rates; `start_timeout`:
    how long tcpdump may take to start (it waits for the RTNL lock, which a
    loaded machine may hold for seconds), and to stop (at least 10 s)."""

    FILTER = "ip proto 112 or arp or ip6 proto 112 or icmp6"

    def __init__(self, lab: Lab, filter: str | None = None, bpf: str | None = None,
                 snaplen: int | None = None, buffer_kib: int | None = None,
                 start_timeout: float = 5):
        self.lab = lab
        self.start_timeout = start_timeout
        self.path = lab.dir / f"capture-{next(_COUNTER)}.pcap"
        self.stderr = self.path.with_suffix(".log")
        self.bpf = bpf or self.FILTER
        if filter:
            self.bpf = f"({self.bpf}) and ({filter})"
        self.options = [*(["-s", str(snaplen)] if snaplen else []),
                        *(["-B", str(buffer_kib)] if buffer_kib else [])]

    def __enter__(self) -> "Capture":
        with open(self.stderr, "w") as stderr:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.lab.switch_ns(), "tcpdump", "-i", "br0", "-U",
                 "--immediate-mode", *self.options, "-w", str(self.path), self.bpf],
                stdout=subprocess.DEVNULL, stderr=stderr)
        self.lab.captures.append(self.proc)
        if not wait_until(lambda: self.path.exists() and self.path.stat().st_size >= 24,
                          self.start_timeout):
            raise RuntimeError("tcpdump did not start")
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.1)
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=max(10, self.start_timeout))

    def dropped(self) -> int | None:
        """Frames the kernel dropped before tcpdump read them, as tcpdump
        reports at its end (None: not reported, e.g. still running)."""
        for line in self.stderr.read_text(errors="replace").splitlines():
            if line.endswith("packets dropped by kernel"):
                return int(line.split()[0])
        return None

    def events(self) -> list[Event]:
        return parse_pcap(self.path.read_bytes())


def _ip(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip6(b: bytes) -> str:
    return ipaddress.IPv6Address(b).compressed


def _nd_option(options: bytes, wanted: int) -> str:
    """The MAC in a source (1) or target (2) link-layer address option."""
    while len(options) >= 8 and options[1] > 0:
        length = options[1] * 8
        if options[0] == wanted and length >= 8:
            return _mac(options[2:8])
        options = options[length:]
    return ""


def parse_pcap(data: bytes) -> list[Event]:
    """Ethernet pcap (microsecond or nanosecond) to VRRP (IPv4 and IPv6),
    ARP and ICMPv6 NS/NA events."""
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
        src_mac, dst_mac = _mac(frame[6:12]), _mac(frame[0:6])
        payload = frame[14:]
        if ethertype == 0x0806 and len(payload) >= 28:
            events.append(Event(when, "arp", _ip(payload[14:18]), src_mac,
                                arp_op=struct.unpack(">H", payload[6:8])[0],
                                target=_ip(payload[24:28]), dst_mac=dst_mac))
        elif ethertype == 0x0800 and len(payload) >= 28 and payload[9] == 112:
            ihl = (payload[0] & 0x0F) * 4
            vrrp = payload[ihl:]
            version = vrrp[0] >> 4
            count = vrrp[3]
            interval = vrrp[5] if version == 2 else struct.unpack(">H", vrrp[4:6])[0] & 0x0FFF
            addresses = [_ip(vrrp[8 + 4 * i:12 + 4 * i]) for i in range(count)]
            events.append(Event(when, "vrrp", _ip(payload[12:16]), src_mac, version=version,
                                vrid=vrrp[1], priority=vrrp[2], interval=interval,
                                ttl=payload[8], addresses=addresses, dst=_ip(payload[16:20]),
                                dst_mac=dst_mac))
        elif ethertype == 0x86DD and len(payload) >= 48:
            next_header, hop_limit = payload[6], payload[7]
            src, dst, body = _ip6(payload[8:24]), _ip6(payload[24:40]), payload[40:]
            common = dict(family=6, ttl=hop_limit, dst=dst, dst_mac=dst_mac)
            if next_header == 112 and len(body) >= 8:
                count = body[3]
                addresses = [_ip6(body[8 + 16 * i:24 + 16 * i]) for i in range(count)]
                events.append(Event(when, "vrrp", src, src_mac, version=body[0] >> 4,
                                    vrid=body[1], priority=body[2],
                                    interval=struct.unpack(">H", body[4:6])[0] & 0x0FFF,
                                    addresses=addresses, **common))
            elif next_header == 58 and len(body) >= 24 and body[0] in (135, 136):
                target, options = _ip6(body[8:24]), body[24:]
                if body[0] == 136:
                    events.append(Event(when, "na", src, src_mac, target=target,
                                        router=bool(body[4] & 0x80),
                                        solicited=bool(body[4] & 0x40),
                                        override=bool(body[4] & 0x20),
                                        lladdr=_nd_option(options, 2), **common))
                else:
                    events.append(Event(when, "ns", src, src_mac, target=target,
                                        lladdr=_nd_option(options, 1), **common))
    return events


@dataclass
class Timeline:
    """What a failover looked like on the wire."""

    old_last_advert: float | None
    new_first_advert: float | None
    # The new master's first announcement: gratuitous ARP (IPv4) or
    # unsolicited NA (IPv6) for the VIP.
    new_first_garp: float | None
    priority_zero: float | None

    @property
    def gap(self) -> float | None:
        if self.old_last_advert is None or self.new_first_advert is None:
            return None
        return self.new_first_advert - self.old_last_advert

    @property
    def announce_delay(self) -> float | None:
        """New master's first advert to its first announcement (negative if
        it announced first)."""
        if self.new_first_advert is None or self.new_first_garp is None:
            return None
        return self.new_first_garp - self.new_first_advert


def is_announcement(event: Event, vip: str) -> bool:
    """A new master's announcement of `vip`: a gratuitous ARP (IPv4) or an
    unsolicited Neighbor Advertisement (IPv6)."""
    vip = canonical(vip)
    if event.kind == "arp":
        return event.src == vip and event.target == vip
    return event.kind == "na" and event.target == vip and not event.solicited


def timeline(events: list[Event], old: str, new: str, vip: str | list[str], after: float = 0.0,
             new_mac: str | None = None) -> Timeline:
    """Old master's last non-zero advert, new master's first advert and GARP
    (for an IPv6 VIP: unsolicited NA). `old`/`new` are advert sources (IPv6:
    the routers' link-local addresses). `vip`: one VIP, or several (an
    announcement of any counts). An announcement is matched by its target,
    not its IP source (keepalived sends NAs from the VIP, tinyvrrp from its
    link-local). Without `new_mac`, the first from anyone from 1 ms before
    the new master's first advert on; with `new_mac`, the first whose
    Ethernet source is `new_mac`, from the old master's last advert on (one
    sent before the new master's first advert counts too)."""
    old, new = canonical(old), canonical(new)
    vips = [vip] if isinstance(vip, str) else list(vip)
    adverts = [e for e in events if e.kind == "vrrp" and e.time >= after]
    old_adverts = [e.time for e in adverts if e.src == old and e.priority > 0]
    zero = [e.time for e in adverts if e.src == old and e.priority == 0]
    new_first = next((e.time for e in adverts if e.src == new
                      and (not old_adverts or e.time > old_adverts[-1])), None)
    if new_mac is None:
        since = new_first - 0.001 if new_first is not None else None
    else:
        since = old_adverts[-1] if old_adverts else after
    garp = next((e.time for e in events
                 if since is not None and e.time >= since
                 and (new_mac is None or e.src_mac == new_mac.lower())
                 and any(is_announcement(e, v) for v in vips)), None)
    return Timeline(old_adverts[-1] if old_adverts else None, new_first, garp,
                    zero[0] if zero else None)
