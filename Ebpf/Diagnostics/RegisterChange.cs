namespace Ebpf.Diagnostics;

/// <summary>A register an instruction changed, with its new value.</summary>
/// <param name="Register">The register number, 0 to 10.</param>
/// <param name="Value">The value after the instruction.</param>
public readonly record struct RegisterChange(int Register, ulong Value)
{
    /// <inheritdoc />
    public override string ToString() => $"r{Register} = 0x{Value:x}";
}
