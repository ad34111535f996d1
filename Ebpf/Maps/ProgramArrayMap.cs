using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Execution;
using Ebpf.Helpers;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_PROG_ARRAY</c>: the targets of <c>bpf_tail_call</c>, by u32 index. The host fills it with
/// compiled programs (<see cref="Set"/>), which must have been compiled with the same environment as the programs
/// that tail-call into them; any engine's compiled programs can be mixed. A slot whose program has been disposed
/// behaves as an empty slot, as in the kernel when a program is removed: <see cref="Get"/> returns null, it is not
/// counted or listed, and a tail call into it falls through (the caller goes on after the call). A program disposed
/// while a tail call runs it finishes that run first. Programs cannot read or write this map except through
/// <c>bpf_tail_call</c>; the byte-level host API reports the index of each present entry as its 4-byte value.
/// </summary>
public sealed unsafe class ProgramArrayMap : BpfMap
{
    private readonly object gate = new();
    private readonly CompiledProgram?[] programs;

    /// <summary>
    /// The machine-code entries by slot (see <see cref="TailCallTargets.Table"/>): pinned, so that code can embed its
    /// address; written under <see cref="gate"/>, read by running code without a lock.
    /// </summary>
    private readonly nint[] entries;

    /// <summary>By slot: the program whose descriptor <see cref="entries"/> holds (which keeps the descriptor alive).</summary>
    private readonly CompiledProgram?[] published;

    /// <summary>
    /// Programs whose descriptors left <see cref="entries"/> while some run that may have read them was in progress,
    /// kept (and so their descriptors) until those runs have ended (see <see cref="Retire"/>). Under <see cref="gate"/>.
    /// </summary>
    private readonly List<(CompiledProgram Program, RunGrace Runs)> retired = [];

    /// <summary>Creates a program array.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a program array.</exception>
    public ProgramArrayMap(MapDefinition definition)
        : base(definition, BpfMapType.ProgramArray)
    {
        programs = new CompiledProgram?[MaxEntries];
        entries = GC.AllocateArray<nint>(MaxEntries, pinned: true);
        published = new CompiledProgram?[MaxEntries];
        Targets = new TargetsOfArray(this);
    }

    /// <summary>Creates a program array with <paramref name="maxEntries"/> slots.</summary>
    public ProgramArrayMap(string name, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.ProgramArray, 4, 4, maxEntries))
    {
    }

    /// <summary>This array as <c>bpf_tail_call</c>'s targets for an engine that enters them itself (see <see cref="TailCallTargets"/>).</summary>
    internal TailCallTargets Targets { get; }

    /// <inheritdoc />
    public override int Count
    {
        get
        {
            int count = 0;
            for (uint i = 0; i < programs.Length; i++)
            {
                count += Get(i) is null ? 0 : 1;
            }

            return count;
        }
    }

    /// <summary>Puts <paramref name="program"/> at <paramref name="index"/>, replacing what was there.</summary>
    /// <remarks>
    /// A tail call continues the caller's run (its context, instruction budget and tail-call count), so a target must
    /// be a program compiled by one of this library's engines (any of them; they derive from
    /// <see cref="CompiledProgram"/>); another implementation of <see cref="ICompiledProgram"/> is rejected here rather
    /// than failing later inside a run.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The index is beyond the capacity.</exception>
    /// <exception cref="ArgumentException">The program does not come from an engine of this library, or it has been disposed.</exception>
    /// <exception cref="ObjectDisposedException">The map has been disposed.</exception>
    public void Set(uint index, ICompiledProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, (uint)MaxEntries);
        if (program is not CompiledProgram compiled)
        {
            throw new ArgumentException(
                $"a tail-call target must be compiled by one of this library's engines (deriving from {nameof(CompiledProgram)}); {program.GetType().Name} cannot continue another program's run",
                nameof(program));
        }

        if (compiled.IsDisposed)
        {
            throw new ArgumentException("the program has been disposed", nameof(program));
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            Volatile.Write(ref programs[index], compiled);
            Publish(index, compiled);
        }
    }

    /// <summary>Empties slot <paramref name="index"/>; false when it was empty (or its program disposed) or beyond the capacity.</summary>
    public bool Remove(uint index)
    {
        lock (gate)
        {
            if (Get(index) is null)
            {
                return false;
            }

            Volatile.Write(ref programs[index], null);
            Publish(index, null);
            return true;
        }
    }

    /// <summary>
    /// The program at <paramref name="index"/>, or null when the slot is empty, its program has been disposed, the
    /// index is beyond the capacity or the map has been disposed. Lock-free (tail calls read it).
    /// </summary>
    public ICompiledProgram? Get(uint index) => Target(index);

    /// <summary>
    /// <see cref="Get"/> as the compiled program it is (the array holds only programs of this library's engines, see
    /// <see cref="Set"/>): no type test on a tail call's way.
    /// </summary>
    internal CompiledProgram? Target(uint index)
    {
        if (index >= (uint)MaxEntries || IsDisposed)
        {
            return null;
        }

        var program = Volatile.Read(ref programs[index]);
        return program is { IsDisposed: true } ? null : program;
    }

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu) => 0;

    /// <inheritdoc />
    protected override bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (Get(index) is null)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(value, index);
        return true;
    }

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) =>
        MapStatus.InvalidArgument;

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key) =>
        Remove(BinaryPrimitives.ReadUInt32LittleEndian(key)) ? MapStatus.Success : MapStatus.NotFound;

    /// <inheritdoc />
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries()
    {
        lock (gate)
        {
            var entries = new List<KeyValuePair<byte[], byte[]>>();
            for (int i = 0; i < programs.Length; i++)
            {
                if (Get((uint)i) is not null)
                {
                    var key = new byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(key, (uint)i);
                    entries.Add(new(key, key.ToArray()));
                }
            }

            return entries;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        lock (gate)
        {
            Array.Clear(programs);
            var previous = new List<CompiledProgram>();
            for (uint i = 0; i < entries.Length; i++)
            {
                if (Swap(i, null) is { } program)
                {
                    previous.Add(program);
                }
            }

            Retire(previous);
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// Writes slot <paramref name="index"/>'s machine-code entry for <paramref name="program"/> (null: empty) and retires
    /// the descriptor it replaces (see <see cref="Swap"/> and <see cref="Retire"/>), under <see cref="gate"/>.
    /// </summary>
    private void Publish(uint index, CompiledProgram? program) =>
        Retire(Swap(index, program) is { } previous ? [previous] : []);

    /// <summary>
    /// Writes slot <paramref name="index"/>'s machine-code entry for <paramref name="program"/> (null: empty), under
    /// <see cref="gate"/>: the program's tail-call descriptor when it has one (its code checks the descriptor's disposed
    /// flag, so a program disposed in its slot behaves as empty there too), else <see cref="TailCallTargets.HostDecides"/>.
    /// Returns the program whose descriptor the slot held before, or null.
    /// </summary>
    private CompiledProgram? Swap(uint index, CompiledProgram? program)
    {
        nint descriptor = program?.TailCallDescriptor ?? 0;
        var previous = published[index];
        Volatile.Write(ref entries[index], program is null ? 0 : descriptor != 0 ? descriptor : TailCallTargets.HostDecides);
        published[index] = descriptor != 0 ? program : null;
        return previous;
    }

    /// <summary>
    /// Keeps the programs whose descriptors left the table (<paramref name="previous"/>) alive in <see cref="retired"/>
    /// until every run in progress now has ended, one wait for all of them, and lets go of those whose runs have ended:
    /// machine code reads an entry only on a thread's own run state and jumps into the target without returning to the
    /// host in between, so only a run in progress can still use an old entry. Under <see cref="gate"/>.
    /// </summary>
    private void Retire(List<CompiledProgram> previous)
    {
        retired.RemoveAll(old => old.Runs.Passed);
        if (previous.Count == 0)
        {
            return;
        }

        var runs = RunGrace.Now();
        if (!runs.Passed)
        {
            foreach (var program in previous)
            {
                retired.Add((program, runs));
            }
        }
    }

    /// <summary>
    /// The program <c>bpf_tail_call</c> enters at an index: one read of the slot (<see cref="Get"/>), none once the run
    /// made <see cref="LinuxHelpers.MaxTailCalls"/> tail calls.
    /// </summary>
    private sealed class TargetsOfArray(ProgramArrayMap map) : TailCallTargets
    {
        public override CompiledProgram? Find(uint index, int tailCallCount) =>
            tailCallCount < LinuxHelpers.MaxTailCalls ? map.Target(index) : null;

        public override nint Table => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(map.entries));

        public override uint Capacity => (uint)map.entries.Length;

        public override int Limit => LinuxHelpers.MaxTailCalls;
    }
}
