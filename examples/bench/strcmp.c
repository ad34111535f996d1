/* Compares the NUL-terminated string at offset 0 with the one at offset len/2, byte by byte, like strcmp.
 * Returns the index of the first difference times 512, plus 256, plus the byte difference there. */
#include "workload.h"

WORKLOAD(strcmp)
{
    const u8 *a = mem;
    const u8 *b = mem + len / 2;
    u64 i = 0;
    while (a[i] != 0 && a[i] == b[i]) {
        i++;
    }
    return (i << 9) + 256 + a[i] - b[i];
}
