using Ebpf.Execution;
using Ebpf.Isa;

namespace Ebpf.Diagnostics;

/// <summary>
/// What an <see cref="IInstructionObserver"/> sees before an instruction executes: the program and pc, the call
/// depth, the eleven registers (writable: a change takes effect for the instruction about to run) and the run's
/// memory through <see cref="TryRead"/> and <see cref="TryWrite"/>, which allow exactly the regions the program may
/// touch (the whole stack area, the input, the metadata and the environment's regions; writes only where writable).
/// Valid only during the call it is passed to.
/// </summary>
public unsafe ref struct InstructionStep
{
    private readonly ref RunState state;
    private readonly ulong* registers;

    /// <summary>Creates the view (engines call this; the registers must stay valid for the duration of the call).</summary>
    /// <param name="program">The program executing (a tail call changes it).</param>
    /// <param name="pc">The slot index of the instruction about to execute.</param>
    /// <param name="callDepth">0 in the entry function, 1 in a function it called, and so on.</param>
    /// <param name="registers">The register file: eleven 64-bit values, r0 to r10.</param>
    /// <param name="state">The run's state (its memory regions).</param>
    internal InstructionStep(EbpfProgram program, int pc, int callDepth, ulong* registers, ref RunState state)
    {
        Program = program;
        Pc = pc;
        CallDepth = callDepth;
        this.registers = registers;
        this.state = ref state;
    }

    /// <summary>The number of registers, r0 to r10.</summary>
    public const int RegisterCount = 11;

    /// <summary>The program executing.</summary>
    public EbpfProgram Program { get; }

    /// <summary>The slot index of the instruction about to execute.</summary>
    public int Pc { get; }

    /// <summary>The local-call depth: 0 in the entry function.</summary>
    public int CallDepth { get; }

    /// <summary>The instruction about to execute (the first slot of an <c>lddw</c>).</summary>
    public readonly Instruction Instruction => Program.Instructions[Pc];

    /// <summary>The instruction about to execute, decoded (its operation and operands).</summary>
    public readonly DecodedInstruction Decoded => Program.Decoded[Pc];

    /// <summary>The registers r0 to r10; writes take effect for the instruction about to execute.</summary>
    public readonly Span<ulong> Registers => new(registers, RegisterCount);

    /// <summary>Copies <paramref name="destination"/>.Length bytes at <paramref name="address"/> when the program may read all of them.</summary>
    /// <returns>False (and nothing copied) when any byte lies outside the run's readable memory.</returns>
    public readonly bool TryRead(ulong address, Span<byte> destination)
    {
        if (!MemoryGuard.IsAllowed(ref state, address, (ulong)destination.Length, MemoryAccessKind.Read, state.StackStart))
        {
            return false;
        }

        new ReadOnlySpan<byte>((void*)address, destination.Length).CopyTo(destination);
        return true;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="address"/> when the program may write all of those bytes.</summary>
    /// <returns>False (and nothing written) when any byte lies outside the run's writable memory.</returns>
    public readonly bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (!MemoryGuard.IsAllowed(ref state, address, (ulong)source.Length, MemoryAccessKind.Write, state.StackStart))
        {
            return false;
        }

        source.CopyTo(new Span<byte>((void*)address, source.Length));
        return true;
    }
}
