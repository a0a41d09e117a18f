"""Hostile VRRP traffic for test_hostile.py: adverts and broken adverts
built byte by byte, sent from a lab namespace as whole Ethernet frames
(an AF_PACKET socket: any TTL, any source, any length), or through the
sender's IP stack when a datagram must be larger than the link's MTU
(the kernel fragments it and the receiver reassembles it).

Sockets are opened inside the namespace and used from the test process:
a socket stays in the namespace it was created in. Standard library only.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import struct
import time
from contextlib import contextmanager

PROTO_VRRP = 112
CLONE_NEWNET = 0x40000000
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
# RFC 1112 §6.4, RFC 2464 §7: the Ethernet addresses of 224.0.0.18 and ff02::12.
MULTICAST_MAC = {4: bytes.fromhex("01005e000012"), 6: bytes.fromhex("333300000012")}
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0

_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def netns(name: str):
    """Runs the body with the calling thread in network namespace `name`
    (sockets made there stay there), then returns to the thread's own."""
    with open("/proc/thread-self/ns/net") as own, open(f"/run/netns/{name}") as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        try:
            yield
        finally:
            if _libc.setns(own.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 one's-complement sum, folded and complemented."""
    if len(data) % 2:
        data += b"\0"
    total = initial + sum(struct.unpack(f">{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header_sum(src: str, dst: str, length: int) -> int:
    """RFC 5798 §5.2.8 (IPv4, RFC 768 layout) and RFC 8200 §8.1 (IPv6): the
    addresses, the protocol and the length, summed as 16-bit words."""
    octets = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
    return sum(struct.unpack(f">{len(octets) // 2}H", octets)) + PROTO_VRRP + length


def vrrp(src: str, dst: str, addresses: list[str], *, version: int = 3, kind: int = 1,
         vrid: int = 51, priority: int = 100, count: int | None = None, interval: int = 10,
         form: str = "standard", trailer: bytes = b"", auth: bytes = bytes(8)) -> bytes:
    """A VRRP message (RFC 5798 §5.2, RFC 3768 §5.3). `interval`: v3
    centiseconds, v2 seconds. `count`: what the count octet says (default:
    the number of addresses). `form`: the checksum RFC 5798 (v3: with the
    pseudo-header) or RFC 3768 (v2: the message alone) defines, "message"
    (v3 without the pseudo-header: Cisco's form, keepalived's
    `v3_checksum_as_v2`), or "bad" (valid in neither form). `trailer`:
    octets after everything the count accounts for."""
    packed = b"".join(ipaddress.ip_address(a).packed for a in addresses)
    count = len(addresses) if count is None else count
    if version == 2:
        head = struct.pack(">BBBBBBH", version << 4 | kind, vrid, priority, count, 0,
                           interval, 0)
        body = packed + auth
    else:
        head = struct.pack(">BBBBHH", version << 4 | kind, vrid, priority, count,
                           interval & 0x0FFF, 0)
        body = packed
    message = head + body + trailer
    with_pseudo = checksum(message, pseudo_header_sum(src, dst, len(message)))
    alone = checksum(message)
    if form == "bad":
        value = next(v for v in range(1, 4) if (with_pseudo + v) & 0xFFFF not in (with_pseudo, alone))
        value = (with_pseudo + value) & 0xFFFF
    elif form == "message" or (form == "standard" and version == 2):
        value = alone
    else:
        value = with_pseudo
    return message[:6] + struct.pack(">H", value) + message[8:]


def ipv4(payload: bytes, src: str, dst: str, ttl: int = 255, options: bytes = b"") -> bytes:
    """An IPv4 datagram around `payload`, protocol 112, with a valid header
    checksum (`options`: a multiple of 4 octets)."""
    ihl = 5 + len(options) // 4
    header = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0xC0, 4 * ihl + len(payload), 0, 0,
                         ttl, PROTO_VRRP, 0, ipaddress.ip_address(src).packed,
                         ipaddress.ip_address(dst).packed) + options
    header = header[:10] + struct.pack(">H", checksum(header)) + header[12:]
    return header + payload


def ipv6(payload: bytes, src: str, dst: str, hop_limit: int = 255) -> bytes:
    """An IPv6 packet around `payload`, next header 112, traffic class 0xc0."""
    return struct.pack(">IHBB16s16s", 6 << 28 | 0xC0 << 20, len(payload), PROTO_VRRP,
                       hop_limit, ipaddress.ip_address(src).packed,
                       ipaddress.ip_address(dst).packed) + payload


def frame(packet: bytes, src_mac: str, dst_mac: bytes | None = None) -> bytes:
    """An Ethernet frame around an IPv4 or IPv6 packet, to `dst_mac`
    (default: the VRRP group's multicast address)."""
    family = packet[0] >> 4
    dst = dst_mac if dst_mac is not None else MULTICAST_MAC[family]
    ethertype = ETH_P_IP if family == 4 else ETH_P_IPV6
    return dst + mac_bytes(src_mac) + struct.pack(">H", ethertype) + packet


class Sender:
    """Sockets on eth0 of a lab namespace: `frames` sends whole Ethernet
    frames; `large4`/`large6` send a VRRP payload larger than the MTU to the
    VRRP group through the IP stack, which fragments it."""

    def __init__(self, ns: str, link_local: str, dev: str = "eth0"):
        with netns(ns):
            self.packet = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.packet.bind((dev, 0))
            self.index = socket.if_nametoindex(dev)
            self.raw4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO_VRRP)
            self.raw4.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
            self.raw4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            self.raw4.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
            self.raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, PROTO_VRRP)
            self.raw6.bind((link_local, 0, 0, self.index))
            self.raw6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)

    def close(self):
        for sock in (self.packet, self.raw4, self.raw6):
            sock.close()

    def frames(self, frames: list[bytes], repeat: int = 1, pause: float = 0.0):
        for _ in range(repeat):
            for data in frames:
                self.packet.send(data)
            if pause:
                time.sleep(pause)

    def large4(self, payload: bytes, repeat: int = 1):
        for _ in range(repeat):
            self.raw4.sendto(payload, ("224.0.0.18", 0))

    def large6(self, payload: bytes, repeat: int = 1):
        for _ in range(repeat):
            self.raw6.sendto(payload, ("ff02::12", 0, 0, self.index))

    def flood(self, frames: list[bytes], seconds: float, processes: int) -> "Flood":
        """Starts sending `frames` round and round from `processes` forked
        processes for `seconds`, as fast as they go."""
        return Flood(self.packet, frames, seconds, processes)


class Flood:
    """Forked senders of one frame list; `join` waits for them and says how
    many frames they sent."""

    def __init__(self, sock: socket.socket, frames: list[bytes], seconds: float,
                 processes: int):
        self.started = time.monotonic()
        deadline = self.started + seconds
        batch = frames * max(1, 64 // len(frames))
        self.children = []
        for _ in range(processes):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                sent = 0
                send = sock.send
                try:
                    while time.monotonic() < deadline:
                        for data in batch:
                            try:
                                send(data)
                                sent += 1
                            except OSError:
                                pass
                    os.write(write_end, str(sent).encode())
                finally:
                    os._exit(0)
            os.close(write_end)
            self.children.append((pid, read_end))

    def join(self) -> tuple[int, float]:
        """(frames sent, seconds from start to the last sender's end)."""
        total = 0
        for pid, read_end in self.children:
            with os.fdopen(read_end) as pipe:
                total += int(pipe.read() or 0)
            os.waitpid(pid, 0)
        return total, time.monotonic() - self.started
