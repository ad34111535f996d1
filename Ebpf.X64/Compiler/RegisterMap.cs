using Iced.Intel;

namespace Ebpf.X64.Compiler;

/// <summary>
/// The fixed assignment of eBPF registers to x86-64 registers. r0 lives in rax (the return register); r1-r5 in
/// registers a native call may clobber (they are saved around helper calls); r6-r9 and r10 in registers every host ABI
/// preserves. rcx, rdx and r11 are scratch; r12 holds the run block.
/// </summary>
internal static class RegisterMap
{
    private static readonly AssemblerRegister64[] Q =
    [
        new(Register.RAX), new(Register.RDI), new(Register.RSI), new(Register.R8), new(Register.R9), new(Register.R10),
        new(Register.RBX), new(Register.R13), new(Register.R14), new(Register.R15), new(Register.RBP),
    ];

    private static readonly AssemblerRegister32[] D =
    [
        new(Register.EAX), new(Register.EDI), new(Register.ESI), new(Register.R8D), new(Register.R9D), new(Register.R10D),
        new(Register.EBX), new(Register.R13D), new(Register.R14D), new(Register.R15D), new(Register.EBP),
    ];

    private static readonly AssemblerRegister16[] W =
    [
        new(Register.AX), new(Register.DI), new(Register.SI), new(Register.R8W), new(Register.R9W), new(Register.R10W),
        new(Register.BX), new(Register.R13W), new(Register.R14W), new(Register.R15W), new(Register.BP),
    ];

    private static readonly AssemblerRegister8[] B =
    [
        new(Register.AL), new(Register.DIL), new(Register.SIL), new(Register.R8L), new(Register.R9L), new(Register.R10L),
        new(Register.BL), new(Register.R13L), new(Register.R14L), new(Register.R15L), new(Register.BPL),
    ];

    /// <summary>The eBPF registers r1-r5 (helper arguments), which are saved around helper calls.</summary>
    public static ReadOnlySpan<int> ArgumentRegisters => [1, 2, 3, 4, 5];

    /// <summary>The 64-bit register of eBPF register <paramref name="r"/>.</summary>
    public static AssemblerRegister64 R64(int r) => Q[r];

    /// <summary>The 32-bit register of eBPF register <paramref name="r"/>.</summary>
    public static AssemblerRegister32 R32(int r) => D[r];

    /// <summary>The 16-bit register of eBPF register <paramref name="r"/>.</summary>
    public static AssemblerRegister16 R16(int r) => W[r];

    /// <summary>The 8-bit register of eBPF register <paramref name="r"/>.</summary>
    public static AssemblerRegister8 R8(int r) => B[r];
}
