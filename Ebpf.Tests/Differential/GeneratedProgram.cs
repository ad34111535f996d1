using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Isa;

namespace Ebpf.Tests.Differential;

/// <summary>A generated program with the input it runs on and its budget.</summary>
public sealed record GeneratedProgram(Instruction[] Slots, byte[] Input, long? Budget)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"budget {Budget?.ToString(CultureInfo.InvariantCulture) ?? "none"}, input [{Convert.ToHexString(Input)}]\n{Disassembler.ToText(Slots)}";
}
