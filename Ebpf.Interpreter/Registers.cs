using System.Runtime.InteropServices;

namespace Ebpf.Interpreter;

/// <summary>
/// The register file of a run of the dispatch loop, r0..r10, which the loop indexes through a pointer to
/// <see cref="R0"/>: a local of fixed size rather than a <c>stackalloc</c> or an inline array, so that a run allocates
/// nothing on the stack at run time (no stack probe) and the JIT puts no security cookie around the loop (it sets and
/// checks one in every method with a dynamic stack allocation or a local inline array).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Registers
{
    /// <summary>The size of the file in bytes (11 registers).</summary>
    public const uint Bytes = 11 * sizeof(ulong);

    /// <summary>r0, the first of the file.</summary>
    public ulong R0;

#pragma warning disable CS0169, IDE0044 // r1..r10 are reached through a pointer to R0 only.
    private ulong r1, r2, r3, r4, r5, r6, r7, r8, r9, r10;
#pragma warning restore CS0169, IDE0044
}
