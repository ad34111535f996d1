using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Isa;
using Ebpf.Kernel;

namespace Ebpf.Fuzzing.Generation;

/// <summary>A generated program with the input it runs on and its budget.</summary>
/// <param name="Slots">The instruction slots.</param>
/// <param name="Input">The memory it runs on; for a kernel program, the packet.</param>
/// <param name="Budget">The instruction budget (set when the program may loop), or null.</param>
public sealed record GeneratedProgram(Instruction[] Slots, byte[] Input, long? Budget)
{
    /// <summary>The kernel program type of a program written for the kernel (it runs through <see cref="KernelProgram"/> with <see cref="Input"/> as its packet); null otherwise.</summary>
    public KernelProgramType? KernelType { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(KernelType is { } type ? $"{type} program, " : "")}budget {Budget?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {(KernelType is null ? "input" : "packet")} [{Convert.ToHexString(Input)}]\n{Disassembler.ToText(Slots)}";
}
