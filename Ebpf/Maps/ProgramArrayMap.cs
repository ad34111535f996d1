using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ebpf.Execution;

namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_PROG_ARRAY</c>: the targets of <c>bpf_tail_call</c>, by u32 index. The host fills it with
/// compiled programs (<see cref="Set"/>), which must have been compiled with the same environment as the programs
/// that tail-call into them; any engine's compiled programs can be mixed. The map keeps each program reachable
/// through a GC handle until the map is disposed, so a tail call in flight never sees a freed handle. Programs cannot
/// read or write this map except through <c>bpf_tail_call</c>; the byte-level host API reports the index of each
/// present entry as its 4-byte value.
/// </summary>
public sealed class ProgramArrayMap : BpfMap
{
    private readonly object gate = new();
    private readonly ICompiledProgram?[] programs;
    private readonly nint[] targets;
    private readonly Dictionary<ICompiledProgram, GCHandle> handles = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates a program array.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a program array.</exception>
    public ProgramArrayMap(MapDefinition definition)
        : base(definition, BpfMapType.ProgramArray)
    {
        programs = new ICompiledProgram?[MaxEntries];
        targets = new nint[MaxEntries];
    }

    /// <summary>Creates a program array with <paramref name="maxEntries"/> slots.</summary>
    public ProgramArrayMap(string name, uint maxEntries)
        : this(new MapDefinition(name, BpfMapType.ProgramArray, 4, 4, maxEntries))
    {
    }

    /// <inheritdoc />
    public override int Count
    {
        get
        {
            lock (gate)
            {
                return programs.Count(p => p is not null);
            }
        }
    }

    /// <summary>Puts <paramref name="program"/> at <paramref name="index"/>, replacing what was there.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is beyond the capacity.</exception>
    /// <exception cref="ArgumentException">The program does not come from an engine of this library (it must derive from <see cref="CompiledProgram"/>).</exception>
    public void Set(uint index, ICompiledProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, (uint)MaxEntries);
        if (program is not CompiledProgram)
        {
            throw new ArgumentException($"a tail-call target must be compiled by an engine deriving from {nameof(CompiledProgram)}", nameof(program));
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (!handles.TryGetValue(program, out var handle))
            {
                handle = GCHandle.Alloc(program);
                handles[program] = handle;
            }

            programs[index] = program;
            Volatile.Write(ref targets[index], GCHandle.ToIntPtr(handle));
        }
    }

    /// <summary>Empties slot <paramref name="index"/>; false when it was empty or beyond the capacity.</summary>
    public bool Remove(uint index)
    {
        lock (gate)
        {
            if (index >= (uint)MaxEntries || programs[index] is null)
            {
                return false;
            }

            programs[index] = null;
            Volatile.Write(ref targets[index], 0);
            return true;
        }
    }

    /// <summary>The program at <paramref name="index"/>, or null.</summary>
    public ICompiledProgram? Get(uint index)
    {
        lock (gate)
        {
            return index < (uint)MaxEntries ? programs[index] : null;
        }
    }

    /// <summary>
    /// The tail-call target at <paramref name="index"/> as the GC handle value <see cref="Helpers.HelperContext.TailCall"/>
    /// expects, or 0 when the slot is empty or beyond the capacity. Lock-free.
    /// </summary>
    public nint GetTailCallTarget(uint index) =>
        index < (uint)MaxEntries && !IsDisposed ? Volatile.Read(ref targets[index]) : 0;

    /// <inheritdoc />
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key) => 0;

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
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags) =>
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
                if (programs[i] is not null)
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
        try
        {
            lock (gate)
            {
                Array.Clear(targets);
                Array.Clear(programs);
                foreach (var handle in handles.Values)
                {
                    handle.Free();
                }

                handles.Clear();
            }
        }
        finally
        {
            base.Dispose(disposing);
        }
    }
}
