/* The IPv4 header checksum and the TCP checksum (with the pseudo-header) of the IPv4 packet in the buffer.
 * Returns (ip checksum << 16) | tcp checksum, each computed as if its checksum field held zero. */
#include "workload.h"

INLINE u64 sum16(const u8 *p, u64 n, u64 skip)
{
    u64 sum = 0;
    for (u64 i = 0; i + 1 < n; i += 2) {
        if (i != skip) {
            sum += ((u64)p[i] << 8) | p[i + 1];
        }
    }
    if (n & 1) {
        sum += (u64)p[n - 1] << 8;
    }
    return sum;
}

INLINE u64 fold(u64 sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

WORKLOAD(checksum)
{
    if (len < 40) {
        return 0;
    }
    u64 ihl = (u64)(mem[0] & 15) * 4;
    u64 total = ((u64)mem[2] << 8) | mem[3];
    if (total > len) {
        total = len;
    }
    if (ihl < 20 || ihl + 20 > total) {
        return 0;
    }
    u64 ip = fold(sum16(mem, ihl, 10));
    u64 tcp_len = total - ihl;
    u64 sum = sum16(mem + 12, 8, 8) + 6 + tcp_len;
    sum += sum16(mem + ihl, tcp_len, 16);
    return (ip << 16) | fold(sum);
}
