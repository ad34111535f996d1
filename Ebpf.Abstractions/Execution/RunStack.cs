using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ebpf.Execution;

/// <summary>
/// The stack area of the runs of one thread: a pinned buffer, all zeros between runs. A run uses its top
/// <see cref="CompiledProgram"/> stack bytes (r10 of the entry function is <see cref="End"/>) and, when it ends however it
/// ends, zeroes every byte it could have written (see <see cref="StackFootprint"/>), so the next run on the thread starts
/// from zeros again without clearing anything up front. A run started while the thread's buffer is in use (a helper
/// that runs another program) gets a stack of its own instead.
/// </summary>
internal sealed unsafe class RunStack
{
    /// <summary>Stack areas up to this size are kept per thread; a larger one is allocated (zeroed) for each run.</summary>
    public const int MaxCachedBytes = 64 * 1024;

    /// <summary>The state of <see cref="Unavailable"/>: its odd sequence marks it in use, forever.</summary>
    private static readonly RunState[] AlwaysBusy = CreateAlwaysBusy();

    /// <summary>Stands in for the thread's buffer while runs must use stacks of their own (always busy).</summary>
    private static readonly RunStack Unavailable = new(0, null, (RunState*)Unsafe.AsPointer(ref AlwaysBusy[0]));

    [ThreadStatic]
    private static RunStack? current;

    private readonly byte[] buffer;

    /// <summary>
    /// The page size the run area is laid out for. A thread's stack area ends on a page boundary and its run state
    /// sits in the middle of a page (<see cref="StateOffsetInPage"/>), so the state never shares its offset within a
    /// page with the top frames of the stack: a store to the stack then never looks to the processor like a store to
    /// a state field the run is about to load (4 KiB aliasing, which measurably slowed the interpreter's loads).
    /// </summary>
    public const int PageSize = 4096;

    /// <summary>Where a thread's run state sits within its page: the top 2 KiB of the stack area never alias it.</summary>
    public const int StateOffsetInPage = 1024;

    /// <summary>The first page boundary at or after <paramref name="address"/>.</summary>
    public static byte* PageAfter(byte* address) => (byte*)(((nuint)address + PageSize - 1) & ~(nuint)(PageSize - 1));

    private RunStack(int length, RunSlots? slots, RunState* state)
    {
        // Pinned arrays are allocated zeroed: the invariant (all zeros while no run uses the buffer) holds from the start.
        // One page more than needed, so that the area can end on a page boundary.
        buffer = GC.AllocateArray<byte>(length + PageSize, pinned: true);
        Length = length;
        End = PageAfter((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)) + length);
        Slots = slots;
        State = state;
    }

    /// <summary>
    /// The run state of the runs on this buffer: the thread's (<see cref="RunSlots.State"/>), pinned, so it outlives a
    /// run and the watchdog can stop a run through it.
    /// </summary>
    public RunState* State { get; }

    /// <summary>One past the highest byte of the buffer: r10 of the entry function of a run on it.</summary>
    public byte* End { get; }

    /// <summary>The run-lease slots of the thread that owns this buffer (null for the stand-in that is always busy).</summary>
    public RunSlots? Slots { get; }

    /// <summary>The buffer's size in bytes.</summary>
    public int Length { get; }

    /// <summary>True while a run of this thread uses the buffer: the sequence of <see cref="State"/> is odd (see <see cref="RunState.RunSequence"/>).</summary>
    public bool Busy
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (State->RunSequence & 1) != 0;
    }

    /// <summary>
    /// The run id of the program whose fields that stay the same from run to run (stack bounds, watch limit, how the
    /// run can be stopped, the dirty stack bytes) <see cref="State"/> holds, with the neutral values of the fields a run
    /// changes; 0 when it holds none (the next run writes them all). An id rather than the program, so that the thread
    /// never keeps a program alive (a program that is never disposed is released by its finalizer).
    /// </summary>
    public long PreparedFor { get; set; }

    /// <summary>
    /// Marks <see cref="State"/> in use by a run whose <see cref="RunState.WatchLimit"/> is already written: the next
    /// (odd) sequence and no stop request, in one plain store of the watch word (the watchdog's compare-and-exchange
    /// of an earlier word then fails). The next sequence comes from the state's own word: only this thread writes the
    /// sequence, and between runs the word is even with no stop request (the watchdog stops only an odd word, and a
    /// run's token and timer callbacks are unregistered before its end is stored). Returns the word written, for
    /// <see cref="EndWatch"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long BeginWatch()
    {
        long* word = (long*)State;
        long begun = (*word & ~0xFFFF_FFFFL) + (1L << 32);
        Volatile.Write(ref *word, begun);
        return begun;
    }

    /// <summary>
    /// Marks <see cref="State"/> free again after the run that <see cref="BeginWatch"/> returned
    /// <paramref name="begun"/> for: the next (even) sequence, no stop request, one plain store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EndWatch(long begun) => Volatile.Write(ref *(long*)State, begun + (1L << 32));

    private static RunState[] CreateAlwaysBusy()
    {
        var state = GC.AllocateArray<RunState>(1, pinned: true);
        state[0].RunSequence = 1;
        return state;
    }

    /// <summary>
    /// This thread's buffer when it is free and holds at least <paramref name="bytes"/> bytes, else null (the caller then
    /// uses <see cref="Take"/>, which grows it, or a stack of its own).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RunStack? TryCurrent(int bytes)
    {
        var stack = current;
        return stack is not null && !stack.Busy && stack.Length >= bytes ? stack : null;
    }

    /// <summary>
    /// This thread's buffer grown to at least <paramref name="bytes"/> (at most <see cref="MaxCachedBytes"/>) when it is
    /// free, else null (nested run, or a stack area too large to keep per thread).
    /// </summary>
    public static RunStack? Take(int bytes)
    {
        if (bytes > MaxCachedBytes)
        {
            return null;
        }

        var stack = current;
        if (stack is not null && (stack.Busy || stack.Length >= bytes))
        {
            return stack.Busy ? null : stack;
        }

        // A free buffer that is too small is all zeros, so dropping it loses nothing.
        var slots = RunSlots.Current;
        current = stack = new RunStack(Math.Max(bytes, 4096), slots, slots.State);
        return stack;
    }

    /// <summary>
    /// Calls <paramref name="action"/> with this thread's buffer out of use, so that its runs take a stack of their own
    /// on the thread's stack, below the caller's frame (as a nested run does). The differential runner uses it to run a
    /// program with its stack at another address.
    /// </summary>
    public static T OnOwnStack<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var saved = current;
        current = Unavailable;
        try
        {
            return action();
        }
        finally
        {
            current = saved;
        }
    }

    /// <summary>The most bytes <see cref="Clear"/> zeroes with stores of its own rather than a call of the runtime's block clear.</summary>
    internal const int SmallClear = 64;

    /// <summary>
    /// Zeroes the top <paramref name="bytes"/> bytes of a stack area ending at <paramref name="end"/>. A few bytes (a
    /// footprint the safety analysis bounds, e.g. a map key: up to <see cref="SmallClear"/>) are zeroed in line with
    /// 8-byte stores, the last one overlapping the one before (never outside the range), instead of a call of the
    /// runtime's block clear, which costs more than the stores for such sizes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Clear(byte* end, int bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        if ((uint)bytes <= SmallClear)
        {
            ClearSmall(end, bytes);
        }
        else
        {
            Unsafe.InitBlockUnaligned(end - bytes, 0, (uint)bytes);
        }
    }

    /// <summary>Zeroes the <paramref name="bytes"/> (1 to <see cref="SmallClear"/>) bytes before <paramref name="end"/> with overlapping stores that stay inside them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ClearSmall(byte* end, int bytes)
    {
        byte* start = end - bytes;
        if (bytes >= 8)
        {
            for (byte* at = start; at < end - 8; at += 8)
            {
                Unsafe.WriteUnaligned(at, 0UL);
            }

            Unsafe.WriteUnaligned(end - 8, 0UL);
        }
        else if (bytes >= 4)
        {
            Unsafe.WriteUnaligned(start, 0U);
            Unsafe.WriteUnaligned(end - 4, 0U);
        }
        else
        {
            *start = 0;
            *(end - 1) = 0;
            start[bytes >> 1] = 0;
        }
    }
}
