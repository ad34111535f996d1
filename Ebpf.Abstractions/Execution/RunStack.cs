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

    /// <summary>Stands in for the thread's buffer while runs must use stacks of their own (always busy).</summary>
    private static readonly RunStack Unavailable = new(0) { Busy = true };

    [ThreadStatic]
    private static RunStack? current;

    private readonly byte[] buffer;

    private RunStack(int length)
    {
        // Pinned arrays are allocated zeroed: the invariant (all zeros while no run uses the buffer) holds from the start.
        buffer = GC.AllocateArray<byte>(length, pinned: true);
        Length = length;
        End = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)) + length;
    }

    /// <summary>One past the highest byte of the buffer: r10 of the entry function of a run on it.</summary>
    public byte* End { get; }

    /// <summary>The buffer's size in bytes.</summary>
    public int Length { get; }

    /// <summary>True while a run of this thread uses the buffer.</summary>
    public bool Busy { get; set; }

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
        current = stack = new RunStack(Math.Max(bytes, 4096));
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

    /// <summary>Zeroes the top <paramref name="bytes"/> bytes of a stack area ending at <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Clear(byte* end, int bytes)
    {
        if (bytes != 0)
        {
            Unsafe.InitBlockUnaligned(end - bytes, 0, (uint)bytes);
        }
    }
}
