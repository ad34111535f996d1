namespace Ebpf.Execution;

/// <summary>
/// The value an <c>lddw</c> with the code-address pseudo source (<c>src=4</c>) gives a program: a tag in the high bits
/// (a non-canonical x86-64 address, so no memory check or processor ever accepts it as memory) and the index of a
/// function of the running program. It names a function, never an address: a helper that calls it back decodes the
/// index and accepts it only when it names a callback of the running program (<see cref="EbpfProgram.IsCallback"/>),
/// so a forged or corrupted value can reach no other code.
/// </summary>
internal static class FunctionPointer
{
    /// <summary>The tag of the upper 32 bits.</summary>
    private const ulong Tag = 0x0EB9_F00D_0000_0000;

    /// <summary>The value that names function <paramref name="function"/>.</summary>
    public static ulong Encode(int function) => Tag | (uint)function;

    /// <summary>The function of <paramref name="program"/> that <paramref name="value"/> names, when it names one of its callbacks.</summary>
    public static bool TryDecode(ulong value, EbpfProgram program, out int function)
    {
        function = (int)(uint)value;
        return (value & 0xFFFF_FFFF_0000_0000) == Tag && program.IsCallback(function);
    }
}
