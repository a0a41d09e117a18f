#!/usr/bin/env python3
"""ICMP echo probe for scripts/bench: sends an echo request to TARGET every
INTERVAL seconds for DURATION seconds (raw socket, root), then prints one
JSON object: {"sent": [[seq, time], ...], "replies": [[seq, time], ...]}
with time.time() (CLOCK_REALTIME, the clock of tcpdump's timestamps) at
the send and at the receipt of each reply. Requests go on a fixed
schedule; if the process falls behind it sends one request and resumes
from then rather than sending a burst. Standard library only."""

import json
import os
import select
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def request(ident: int, seq: int) -> bytes:
    payload = b"tinyvrrp-bench"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
    return struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq & 0xFFFF) + payload


def main():
    target, interval, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    ident = os.getpid() & 0xFFFF
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    sent, replies = [], []
    start = time.monotonic()
    end = start + duration
    next_send = start
    seq = 0
    while True:
        now = time.monotonic()
        if now >= end + 0.3:
            break
        if now >= next_send and now < end:
            try:
                sock.sendto(request(ident, seq), (target, 0))
                sent.append([seq, time.time()])
            except OSError:
                pass  # e.g. no route for a moment; the gap shows it
            seq += 1
            next_send += interval
            if next_send < now:
                next_send = now + interval
        wait = max(0.0, min(next_send, end + 0.3) - time.monotonic())
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            continue
        while True:
            try:
                packet = sock.recv(2048)
            except BlockingIOError:
                break
            received = time.time()
            ihl = (packet[0] & 0x0F) * 4
            icmp = packet[ihl:]
            if len(icmp) >= 8 and icmp[0] == 0:
                _, _, _, reply_id, reply_seq = struct.unpack("!BBHHH", icmp[:8])
                if reply_id == ident:
                    replies.append([reply_seq, received])
    json.dump({"sent": sent, "replies": replies}, sys.stdout)


if __name__ == "__main__":
    main()
