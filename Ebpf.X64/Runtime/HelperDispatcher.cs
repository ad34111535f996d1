using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Ebpf.X64.Runtime;

/// <summary>
/// The one entry from generated code back into managed code. It never lets an exception escape into native frames: a
/// failure is kept for the managed caller of the run and reported through the block's status.
/// </summary>
internal static unsafe class HelperDispatcher
{
    [ThreadStatic]
    private static ExceptionDispatchInfo? pending;

    /// <summary>The address generated code calls: <c>ulong Dispatch(RunBlock*, int site)</c>.</summary>
    public static ulong Address { get; } = (ulong)(delegate* unmanaged<RunBlock*, int, ulong>)&Dispatch;

    /// <summary>Takes the exception a helper call of this thread's current run raised (null if none).</summary>
    public static ExceptionDispatchInfo? TakePending()
    {
        var e = pending;
        pending = null;
        return e;
    }

    [UnmanagedCallersOnly]
    private static ulong Dispatch(RunBlock* block, int site)
    {
        try
        {
            var program = GCHandle.FromIntPtr(block->Program).Target as X64CompiledProgram
                ?? throw new InvalidOperationException("the compiled program of a running x64 code block is gone");
            return program.CallHelper(block, site);
        }
        catch (Exception e)
        {
            pending = ExceptionDispatchInfo.Capture(e);
            block->Status = (int)RunStatus.HelperFailed;
            return 0;
        }
    }
}
