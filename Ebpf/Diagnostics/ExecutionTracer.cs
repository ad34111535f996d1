using System.Buffers.Binary;
using Ebpf.Isa;

namespace Ebpf.Diagnostics;

/// <summary>
/// An observer that reports every executed instruction as a <see cref="TraceEntry"/>: its pc and text, the registers
/// it changed and, for stores and atomics, the bytes written. An entry is complete only once the next instruction is
/// about to run (that is when its effects are visible), so the last entry of a run comes from <see cref="Complete"/>;
/// <see cref="Run(IObservableProgram, Span{byte}, Action{TraceEntry})"/> does all of it. One tracer serves one run at a time.
/// </summary>
/// <example>
/// <code>
/// using var compiled = new InterpreterEngine().CompileObservable(program);
/// ulong r0 = ExecutionTracer.Run(compiled, packet, entry => Console.WriteLine(entry));
/// </code>
/// </example>
public sealed class ExecutionTracer : IInstructionObserver
{
    private readonly Action<TraceEntry> sink;
    private readonly ulong[] before = new ulong[InstructionStep.RegisterCount];
    private readonly List<RegisterChange> changes = [];
    private bool pending;
    private long index;
    private EbpfProgram? program;
    private int pc;
    private int depth;
    private ulong storeAddress;
    private int storeSize;

    /// <summary>Creates a tracer that hands each completed entry to <paramref name="sink"/>, in execution order.</summary>
    public ExecutionTracer(Action<TraceEntry> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        this.sink = sink;
    }

    /// <summary>Runs <paramref name="program"/> on <paramref name="memory"/> under a new tracer, reporting every instruction (also when the run fails).</summary>
    /// <returns>r0.</returns>
    /// <exception cref="EbpfRuntimeException">The run failed; the entries up to the failing instruction were reported.</exception>
    public static ulong Run(IObservableProgram program, Span<byte> memory, Action<TraceEntry> sink) => Run(program, memory, [], sink);

    /// <summary>Runs with metadata (see <see cref="IObservableProgram.Run(Span{byte}, Span{byte}, IInstructionObserver)"/>) under a new tracer.</summary>
    /// <returns>r0.</returns>
    /// <exception cref="EbpfRuntimeException">The run failed; the entries up to the failing instruction were reported.</exception>
    public static ulong Run(IObservableProgram program, Span<byte> memory, Span<byte> metadata, Action<TraceEntry> sink)
    {
        ArgumentNullException.ThrowIfNull(program);
        var tracer = new ExecutionTracer(sink);
        ulong r0;
        try
        {
            r0 = program.Run(memory, metadata, tracer);
        }
        catch (EbpfRuntimeException)
        {
            tracer.Complete(null);
            throw;
        }

        tracer.Complete(r0);
        return r0;
    }

    /// <inheritdoc />
    public void OnInstruction(in InstructionStep step)
    {
        var registers = step.Registers;
        if (pending)
        {
            Report(registers, step);
        }

        registers.CopyTo(before);
        program = step.Program;
        pc = step.Pc;
        depth = step.CallDepth;
        pending = true;
        storeSize = 0;
        var insn = step.Decoded;
        if (insn.Operation == Operation.Store || insn.IsAtomic)
        {
            storeAddress = registers[insn.BaseRegister] + (ulong)(long)insn.Offset;
            storeSize = insn.AccessSize;
        }
    }

    /// <summary>
    /// Reports the last instruction of a run. <paramref name="result"/> is r0 when the run returned (a helper that
    /// stops the run changes r0 with its last instruction), or null when it failed (the failing instruction changed nothing).
    /// </summary>
    public void Complete(ulong? result)
    {
        if (!pending)
        {
            return;
        }

        changes.Clear();
        if (result is { } r0 && r0 != before[0])
        {
            changes.Add(new RegisterChange(0, r0));
        }

        // The last instruction either failed or was exit or a stopping helper call: no store completed.
        storeSize = 0;
        Emit(null);
    }

    private void Report(Span<ulong> after, in InstructionStep step)
    {
        changes.Clear();
        for (int r = 0; r < after.Length; r++)
        {
            if (after[r] != before[r])
            {
                changes.Add(new RegisterChange(r, after[r]));
            }
        }

        MemoryWrite? store = null;
        Span<byte> bytes = stackalloc byte[8];
        if (storeSize != 0 && step.TryRead(storeAddress, bytes[..storeSize]))
        {
            bytes[storeSize..].Clear();
            store = new MemoryWrite(storeAddress, storeSize, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        }

        Emit(store);
    }

    private void Emit(MemoryWrite? store)
    {
        var instructions = program!.Instructions;
        var insn = instructions[pc];
        string text = insn.IsWide && pc + 1 < instructions.Length ? InstructionFormatter.Format(insn, instructions[pc + 1]) : InstructionFormatter.Format(insn);
        pending = false;
        sink(new TraceEntry(index++, program.Name, pc, depth, insn, text, [.. changes], store));
    }
}
