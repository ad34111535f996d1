namespace Ebpf.Tests.Helpers;

/// <summary>Programs with callbacks shared by the engine tests and the analysis tests.</summary>
public static class CallbackPrograms
{
    /// <summary>Sums the loop indexes into a counter on the caller's stack (ctx = r10 - 8); returns sum * 100 + bpf_loop's result.</summary>
    public static string SumLoop(string loops, string flags = "0") => $"""
        mov r6, 0
        stxdw [r10-8], r6
        mov r1, {loops}
        lddw r2, code_addr add_index
        mov r3, r10
        add r3, -8
        mov r4, {flags}
        call 181
        mov r6, r0
        ldxdw r0, [r10-8]
        mul r0, 100
        add r0, r6
        exit
        add_index:
        ldxdw r3, [r2]
        add r3, r1
        stxdw [r2], r3
        mov r0, 0
        exit
        """;

    /// <summary>
    /// bpf_loop of 2^23 callbacks that each run bpf_loop of 2^23 empty callbacks: 2^46 callbacks and no backward jump,
    /// so only a stop between callbacks (calls at pcs 5 and 12) or, in the interpreter, at a slice ends it.
    /// </summary>
    public const string NestedEndless = """
        mov r1, 0x800000
        lddw r2, code_addr outer
        mov r3, 0
        mov r4, 0
        call 181
        exit
        outer:
        mov r1, 0x800000
        lddw r2, code_addr inner
        mov r3, 0
        mov r4, 0
        call 181
        mov r0, 0
        exit
        inner:
        mov r0, 0
        exit
        """;

    /// <summary>A callback that calls bpf_loop with itself: each run adds a frame until the call depth runs out.</summary>
    public const string Recursive = """
        mov r1, 1
        lddw r2, code_addr again
        mov r3, 0
        mov r4, 0
        call 181
        exit
        again:
        mov r1, 1
        lddw r2, code_addr again
        mov r3, 0
        mov r4, 0
        call 181
        mov r0, 0
        exit
        """;
}
