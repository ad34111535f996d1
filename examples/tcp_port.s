# A packet parser: returns the TCP destination port of an Ethernet + IPv4 packet
# (r1 = the packet's address, r2 = its length), or 0 when the packet is too short
# or is not TCP over IPv4.
    mov r0, 0
    jlt r2, 54, done          # 14 (Ethernet) + 20 (IPv4) + 20 (TCP) bytes at least
    ldxh r3, [r1+12]          # EtherType (network byte order)
    be16 r3
    jne r3, 0x0800, done      # IPv4 only
    ldxb r3, [r1+23]          # IPv4 protocol
    jne r3, 6, done           # TCP only
    ldxb r3, [r1+14]          # IPv4 version and header length (IHL, in 32-bit words)
    and r3, 0x0f
    lsh r3, 2                 # r3 = IPv4 header length in bytes
    mov r4, r3
    add r4, 34                # 14 + IHL + 20 must fit in the packet
    jgt r4, r2, done
    add r3, r1                # r3 = packet + IHL; the TCP header starts at r3 + 14
    ldxh r0, [r3+16]          # TCP destination port (offset 2 in the TCP header)
    be16 r0
done:
    exit
