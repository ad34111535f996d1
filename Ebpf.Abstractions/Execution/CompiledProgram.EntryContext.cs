using System.Runtime.CompilerServices;

namespace Ebpf.Execution;

/// <summary>
/// Programs compiled for a host-built context (<see cref="ExecutionOptions.EntryContext"/>): their proven context and
/// packet accesses run without checks, relying on the context the host builds, so the public run methods, which take
/// any memory, refuse them; the host runs them with <see cref="RunWithContext"/>, tail calls enter them only from
/// programs compiled for the same context (<see cref="Helpers.HelperContext.TailCall"/>).
/// </summary>
public abstract unsafe partial class CompiledProgram
{
    /// <summary>The context layout the program was compiled for, or null (any memory).</summary>
    private readonly Analysis.ContextLayout? entryContext;

    /// <summary>
    /// Runs a program compiled for a host-built context on that context (<paramref name="context"/>, as the metadata:
    /// r1) and the input memory it points into, as <see cref="Run(Span{byte}, Span{byte}, CancellationToken)"/> does;
    /// the caller vouches for the context (see <see cref="ExecutionOptions.EntryContext"/>).
    /// </summary>
    internal ulong RunWithContext(Span<byte> memory, Span<byte> context, CancellationToken cancellationToken)
    {
        fixed (byte* m = memory)
        fixed (byte* c = context)
        {
            return Run(m, (ulong)memory.Length, c, (ulong)context.Length, cancellationToken);
        }
    }

    /// <summary>
    /// Runs as <see cref="RunWithContext"/> does, with <paramref name="observer"/> called before every instruction (for
    /// an engine that supports observation, see <see cref="RunObserved"/>).
    /// </summary>
    internal ulong RunObservedWithContext(Span<byte> memory, Span<byte> context, Diagnostics.IInstructionObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        fixed (byte* m = memory)
        fixed (byte* c = context)
        {
            return RunCore(m, (ulong)memory.Length, c, (ulong)context.Length, observer, default);
        }
    }

    /// <summary>Refuses a run on memory given directly when the program relies on a host-built context.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RequireRawEntry()
    {
        if (entryContext is not null)
        {
            ThrowNeedsContext();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNeedsContext() =>
        throw new InvalidOperationException(
            $"'{Program.Name}' was compiled for the {entryContext!.Name} context its host builds (a kernel program: run it with Ebpf.Kernel.KernelProgram.TestRun); it cannot run on memory given directly");
}
