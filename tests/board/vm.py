"""Malta MIPS (little-endian) VMs under qemu-system-mipsel for board tests.

Debian's 4kc-malta kernel and busybox-static:mipsel (fetched by
scripts/setup-cross into target/board/root) boot from an initramfs built
here with the mipsel tinyvrrp image (scripts/build-cross). VMs share one L2
segment through a qemu socket netdev on loopback, which needs no root and
sends nothing off this machine. Each VM is driven through its serial
console. Standard library only.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARD_ROOT = REPO / "target" / "board" / "root"
IMAGE = REPO / "target" / "images" / "tinyvrrp-mipsel-unknown-linux-musl"
QEMU = "qemu-system-mipsel"

# Load order matters: each needs the ones before it (modules.dep of the
# kernel package).
VIRTIO_NET_MODULES = (
    "virtio",
    "virtio_ring",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
)

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
for m in {modules}; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up
echo BOARD-READY
exec sh
"""


def kernel() -> Path | None:
    found = sorted((BOARD_ROOT / "boot").glob("vmlinuz-*-4kc-malta"))
    return found[-1] if found else None


def missing_prerequisites() -> list[str]:
    missing = []
    if shutil.which(QEMU) is None:
        missing.append(f"{QEMU} (scripts/setup-cross)")
    if kernel() is None or not (BOARD_ROOT / "bin" / "busybox").exists():
        missing.append(f"the Malta kernel and busybox in {BOARD_ROOT} (scripts/setup-cross)")
    if not IMAGE.exists():
        missing.append(f"{IMAGE} (scripts/build-cross mipsel-unknown-linux-musl)")
    return missing


def _cpio_entry(out: io.BytesIO, name: str, mode: int, data: bytes = b"", ino: int = 0):
    """One entry of the SVR4 'newc' cpio format the kernel unpacks."""
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
    out.write(b"\0" * (-(110 + len(encoded)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def build_initramfs(path: Path):
    modules_dir = next((BOARD_ROOT / "lib" / "modules").iterdir()) / "kernel"
    modules = {p.stem: p for p in modules_dir.rglob("*.ko")}
    files = {
        "init": (INIT.format(modules=" ".join(VIRTIO_NET_MODULES)).encode(), 0o755),
        "bin/busybox": ((BOARD_ROOT / "bin" / "busybox").read_bytes(), 0o755),
        "bin/tinyvrrp": (IMAGE.read_bytes(), 0o755),
    }
    for name in VIRTIO_NET_MODULES:
        files[f"lib/modules/{name}.ko"] = (modules[name].read_bytes(), 0o644)
    out = io.BytesIO()
    ino = 1
    for directory in ("bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", "tmp", "root"):
        _cpio_entry(out, directory, stat.S_IFDIR | 0o755, ino=ino)
        ino += 1
    for name, (data, mode) in files.items():
        _cpio_entry(out, name, stat.S_IFREG | mode, data, ino=ino)
        ino += 1
    _cpio_entry(out, "TRAILER!!!", 0)
    path.write_bytes(out.getvalue())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether a TCP socket listens on 127.0.0.1:port, without connecting
    (a probe connection would become qemu's one peer)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        return any(
            fields[1] == wanted and fields[3] == "0A"
            for fields in (line.split() for line in table.readlines()[1:])
        )


class Vm:
    """One booted VM and its serial console."""

    def __init__(self, name: str, initramfs: Path, netdev: str, mac: str, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.console"
        self._output = bytearray()
        self._lock = threading.Lock()
        self._marker = 0
        self.proc = subprocess.Popen(
            [
                QEMU, "-M", "malta", "-m", "128", "-smp", "1",
                "-kernel", str(kernel()), "-initrd", str(initramfs),
                "-append", "console=ttyS0 quiet panic=-1",
                "-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio",
                "-no-reboot", "-nic", "none",
                "-netdev", f"socket,id=n0,{netdev}",
                "-device", f"virtio-net-pci,romfile=,netdev=n0,mac={mac}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with open(self.log_path, "wb") as log:
            while chunk := self.proc.stdout.read1(4096):
                log.write(chunk)
                log.flush()
                with self._lock:
                    self._output += chunk

    def output(self) -> str:
        with self._lock:
            return self._output.decode(errors="replace")

    def wait_for(self, text: str, timeout: float, start: int = 0) -> int | None:
        """Index just past `text` in the console output, once it shows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.output().find(text, start)
            if found >= 0:
                return found + len(text)
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def sh(self, command: str, timeout: float = 30) -> str:
        """Runs a shell command on the console; returns what it printed."""
        self._marker += 1
        start = len(self.output())
        # The quotes split the marker in the echoed command line, so only
        # the echo's own output matches.
        self.proc.stdin.write(f'{command}\necho "@@{self._marker}""@@"\n'.encode())
        self.proc.stdin.flush()
        end = self.wait_for(f"@@{self._marker}@@", timeout, start)
        if end is None:
            raise TimeoutError(f"{self.name}: no answer to {command!r}\n{self.tail()}")
        text = self.output()[start:end]
        return text.split("\n", 1)[1] if "\n" in text else ""

    def tail(self, chars: int = 3000) -> str:
        return self.output()[-chars:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Segment:
    """Two VMs on one emulated L2 segment; everything removed on exit."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tinyvrrp-board-"))
        self.vms: list[Vm] = []

    def __enter__(self) -> "Segment":
        initramfs = self.dir / "initramfs.cpio"
        build_initramfs(initramfs)
        port = free_port()
        self.vms = [Vm("vm1", initramfs, f"listen=127.0.0.1:{port}", "52:54:00:12:34:01", self.dir)]
        deadline = time.monotonic() + 10
        while not listening(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.vms.append(Vm("vm2", initramfs, f"connect=127.0.0.1:{port}", "52:54:00:12:34:02", self.dir))
        return self

    def __exit__(self, *exc):
        for vm in self.vms:
            vm.close()
        if os.environ.get("TINYVRRP_KEEP_BOARD_LOGS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
