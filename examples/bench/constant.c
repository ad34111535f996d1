/* The smallest useful program: returns a constant without touching its input (two eBPF instructions, mov and
 * exit). Measures what a run costs before the first instruction of the program. */
#include "workload.h"

WORKLOAD(constant)
{
    (void)mem;
    (void)len;
    return 42;
}
