namespace Ebpf.Tests.Engines;

/// <summary>One program of the rbpf-parity set: assembly text, the memory it runs on (hex bytes) and the expected r0.</summary>
public sealed record RbpfParityCase(string Name, string Asm, string Memory, ulong Expected)
{
    public override string ToString() => Name;
}
