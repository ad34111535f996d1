#!/usr/bin/env python3
"""Writes the crafted frames the kernel-style examples are tested on (packets/*.bin), with valid checksums."""
import os
import struct

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(ethertype: int, payload: bytes, tags=()) -> bytes:
    header = DST_MAC + SRC_MAC
    for tpid, vid in tags:
        header += struct.pack("!HH", tpid, vid)
    return header + struct.pack("!H", ethertype) + payload


def ipv4(protocol: int, payload_fn, src="10.0.0.1", dst="10.0.0.2") -> bytes:
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    payload = payload_fn(s, d, 6)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0x4000, 17, protocol, 0, s, d)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(next_header: int, payload_fn) -> bytes:
    s = bytes.fromhex("fd000000000000000000000000000001")
    d = bytes.fromhex("fd000000000000000000000000000002")
    payload = payload_fn(s, d, 6)
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64) + s + d + payload


def pseudo(s: bytes, d: bytes, protocol: int, length: int) -> bytes:
    if len(s) == 4:
        return s + d + struct.pack("!BBH", 0, protocol, length)
    return s + d + struct.pack("!IxxxB", length, protocol)


def udp(dport: int, data: bytes):
    def build(s, d, _):
        header = struct.pack("!HHHH", 40000, dport, 8 + len(data), 0)
        c = checksum(pseudo(s, d, 17, 8 + len(data)) + header + data) or 0xFFFF
        return header[:6] + struct.pack("!H", c) + data
    return build


def tcp(dport: int, data: bytes):
    def build(s, d, _):
        header = struct.pack("!HHIIBBHHH", 40001, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        c = checksum(pseudo(s, d, 6, len(header) + len(data)) + header + data)
        return header[:16] + struct.pack("!H", c) + header[18:] + data
    return build


def icmp_echo(data: bytes, icmp_type=8):
    def build(s, d, _):
        header = struct.pack("!BBHHH", icmp_type, 0, 0, 0x77, 1)
        c = checksum(header + data)
        return header[:2] + struct.pack("!H", c) + header[4:] + data
    return build


def icmp6_echo(data: bytes):
    def build(s, d, _):
        header = struct.pack("!BBHHH", 128, 0, 0, 0x77, 1)
        c = checksum(pseudo(s, d, 58, len(header) + len(data)) + header + data)
        return header[:2] + struct.pack("!H", c) + header[4:] + data
    return build


PAYLOAD = b"hello, kernel!"
FRAMES = {
    "tcp4_80": ethernet(0x0800, ipv4(6, tcp(80, PAYLOAD))),
    "tcp4_9999": ethernet(0x0800, ipv4(6, tcp(9999, PAYLOAD))),
    "udp4_53": ethernet(0x0800, ipv4(17, udp(53, PAYLOAD))),
    "icmp4_echo": ethernet(0x0800, ipv4(1, icmp_echo(b"ping-payload-0123456789"))),
    "vlan_udp4": ethernet(0x0800, ipv4(17, udp(53, PAYLOAD)), tags=[(0x8100, 100)]),
    "qinq_tcp4": ethernet(0x0800, ipv4(6, tcp(9999, PAYLOAD)), tags=[(0x88A8, 300), (0x8100, 100)]),
    "vlan_icmp4_echo": ethernet(0x0800, ipv4(1, icmp_echo(b"ping")), tags=[(0x8100, 100)]),
    "udp6_53": ethernet(0x86DD, ipv6(17, udp(53, PAYLOAD))),
    "tcp6_9999": ethernet(0x86DD, ipv6(6, tcp(9999, PAYLOAD))),
    "icmp6_echo": ethernet(0x86DD, ipv6(58, icmp6_echo(b"ping6"))),
    "arp": ethernet(0x0806, bytes.fromhex("0001080006040001") + SRC_MAC + bytes([10, 0, 0, 1]) + bytes(6) + bytes([10, 0, 0, 2])),
}
FRAMES["truncated_tcp4"] = FRAMES["tcp4_80"][:14 + 20 + 8]
FRAMES["truncated_ip4"] = FRAMES["udp4_53"][:14 + 12]
FRAMES["truncated_vlan"] = FRAMES["vlan_udp4"][:16]
FRAMES["runt"] = FRAMES["udp4_53"][:10]
# Longer than the 3,520 bytes of an XDP buffer (the rest goes into page fragments): udp4_53 and a trailer of counting bytes.
for size in (4000, 9000):
    FRAMES["jumbo%d" % size] = FRAMES["udp4_53"] + bytes(i % 251 for i in range(len(FRAMES["udp4_53"]), size))

os.makedirs(os.path.join(os.path.dirname(__file__), "packets"), exist_ok=True)
for name, frame in FRAMES.items():
    with open(os.path.join(os.path.dirname(__file__), "packets", name + ".bin"), "wb") as f:
        f.write(frame)
