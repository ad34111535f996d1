using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

/// <summary>A generated program with the input it runs on and its budget.</summary>
/// <param name="Slots">The instruction slots.</param>
/// <param name="Input">The memory it runs on.</param>
/// <param name="Budget">The instruction budget (set when the program may loop), or null.</param>
public sealed record GeneratedProgram(Instruction[] Slots, byte[] Input, long? Budget)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"budget {Budget?.ToString(CultureInfo.InvariantCulture) ?? "none"}, input [{Convert.ToHexString(Input)}]\n{Disassembler.ToText(Slots)}";
}
