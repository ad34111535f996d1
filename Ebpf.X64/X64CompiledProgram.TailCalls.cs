using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Compiler;
using Ebpf.X64.Native;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// <c>bpf_tail_call</c> entered by the host's helper loop itself (<see cref="RunWithHelperReturns"/>), for code whose
/// helper calls return to the host and a call site whose program array the compiler knows (an <c>lddw</c> of r2 right
/// before the call): no helper invocation, no <see cref="HelperContext"/>, no pending list and no return through the
/// run path; the target runs straight from here, nested in this program's run method.
/// </summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>
    /// The storage of this program's tail-call descriptor (pinned; see <see cref="X64Compiler"/>'s tail calls), or null
    /// when a tail call cannot enter its code by a jump: the tail entry, the block's handle of the program, the key of its
    /// environment and options, its disposed flag (set by <see cref="OnDisposing"/>) and its stack footprint. Managed
    /// memory, so that it lives as long as anything (a program array's table, through the program) can hand it out.
    /// </summary>
    private readonly byte[]? descriptorStorage;

    /// <summary>The address of <see cref="descriptorStorage"/>, or 0.</summary>
    private readonly nint descriptor;

    /// <summary>Set once the descriptor was handed out (to a program array): the code is then unmapped only once the runs
    /// in progress at its release have ended (see <see cref="ReleaseCode"/>).</summary>
    private volatile bool descriptorPublished;

    /// <inheritdoc />
    internal override nint TailCallDescriptor
    {
        get
        {
            descriptorPublished |= descriptor != 0;
            return descriptor;
        }
    }

    /// <summary>Allocates the descriptor of code whose tail entry is at <paramref name="tailEntry"/>.</summary>
    private static (byte[] Storage, nint Address) CreateTailCallDescriptor(
        nint tailEntry, nint handle, ProgramEnvironment environment, ExecutionOptions options, int dirtyStackBytes)
    {
        var storage = GC.AllocateArray<byte>(X64Compiler.DescriptorSize, pinned: true);
        var d = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(storage));
        *(nint*)(d + X64Compiler.DescriptorEntryOffset) = tailEntry;
        *(nint*)(d + X64Compiler.DescriptorHandleOffset) = handle;
        *(long*)(d + X64Compiler.DescriptorKeyOffset) = TailCallKey.Of(environment, options);
        *(int*)(d + X64Compiler.DescriptorDirtyOffset) = Math.Min(dirtyStackBytes, options.StackSize * options.MaxCallDepth);
        return (storage, (nint)d);
    }

    /// <inheritdoc />
    /// <remarks>The descriptor's flag: a tail call's jump then falls through, as the helper does for a disposed target.</remarks>
    private protected override void OnDisposing()
    {
        if (descriptor != 0)
        {
            Volatile.Write(ref *(int*)(descriptor + X64Compiler.DescriptorDisposedOffset), 1);
        }
    }

    /// <summary>
    /// Unmaps the code at its release. Code whose descriptor a program array published may have been entered by a tail
    /// call's jump that read the entry before the program was disposed, in a run that holds no lease of this program:
    /// its mapping goes when the runs in progress now have ended (<see cref="RunGrace"/>).
    /// </summary>
    private void ReleaseCode()
    {
        if (descriptorPublished)
        {
            DeferredUnmaps.Add(memory);
        }
        else
        {
            memory.Dispose();
        }
    }

    /// <summary>
    /// The program whose code the run on a block runs: <paramref name="handle"/> is the block's
    /// <see cref="RunBlock.Program"/>, which a tail call's jump sets to its target's. The target is alive: the program array
    /// it was entered from holds it (in a slot, or its retired lease) until the run has ended.
    /// </summary>
    private X64CompiledProgram Running(nint handle) =>
        handle == selfHandle ? this : (X64CompiledProgram)GCHandle.FromIntPtr(handle).Target!;

    /// <summary>
    /// A tail-call site that left for the host (<see cref="X64Compiler.TailCallExit"/>): the site of the program whose code
    /// runs (the block names it), which may be a target entered by a jump. The host enters the target nested
    /// (<see cref="TryTailCall"/>) or calls the helper, as for any tail call whose array is known. Returns as
    /// <see cref="CallOtherHelper"/> does.
    /// </summary>
    private bool TailCallExit(RunBlock* block, out ulong result)
    {
        var running = Running(block->Program);
        int site = block->TailSite;
        if (running.sites[site].TailCalls is { } targets && running.TryTailCall(block, targets, out result))
        {
            return false;
        }

        result = running.CallHelper(block, site);
        return block->Status == (int)RunStatus.Completed;
    }

    /// <summary>
    /// At the tail-call site the code left at (r1-r5 in <paramref name="block"/>): when the slot at r3 holds an x64
    /// program the helper would enter (the checks of CompiledProgram.TryEnterTailCallTarget), runs it on the
    /// run's state with what is left of the budget and returns true with its r0 in <paramref name="r0"/> (the block
    /// completed, its budget the target's rest, so the run ends as the target's). Anything else (an empty or disposed
    /// slot, an index out of range, the limit of 33, an interpreter or IL target, a callback, another environment or
    /// context) returns false, having changed nothing the helper reads: the helper is called as before and decides.
    /// <para>
    /// Not inlined, and its locals not zeroed: inlined, the target's run (its 280-byte run block, written before it is
    /// read) became part of <see cref="RunWithHelperReturns"/>, whose prologue then zeroed that block on every return of
    /// the code for any helper call, and whose registers spilled around the tail-call path.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private bool TryTailCall(RunBlock* block, TailCallTargets targets, out ulong r0)
    {
        r0 = 0;
        RunState* state = block->State;
        if (targets.Find((uint)block->Arg3, state->TailCallCount) is not X64CompiledProgram target)
        {
            return false;
        }

        // The target counts on the state's budget: this code's rest goes there first, and the target's comes back, so
        // that Finish hands it on.
        bool budget = Uses(RunBlock.BudgetOffset);
        if (budget)
        {
            state->BudgetRemaining = block->Budget;
        }

        // Counted before the target runs, so that a target that fails counts too.
        hostEnteredTailCalls++;
        if (!TryEnterTailCallTarget(ref *state, target, out r0))
        {
            hostEnteredTailCalls--;
            return false;
        }

        if (budget)
        {
            block->Budget = state->BudgetRemaining;
        }

        return true;
    }

    /// <summary>The tail calls this thread's runs entered from the host's helper loop (<see cref="TryTailCall"/>) rather
    /// than by a jump in the code: the tests tell the two paths apart with it.</summary>
    [ThreadStatic]
    private static int hostEnteredTailCalls;

    /// <summary>See <see cref="hostEnteredTailCalls"/>.</summary>
    internal static int HostEnteredTailCalls => hostEnteredTailCalls;
}

/// <summary>
/// Code mappings of tail-call targets released while runs that may run them were in progress (see
/// X64CompiledProgram.ReleaseCode): each is unmapped once its runs have ended, looked at whenever another is added and
/// after each garbage collection while any is left.
/// </summary>
internal static class DeferredUnmaps
{
    private static readonly Lock Gate = new();
    private static readonly List<(ExecutableMemory Memory, RunGrace Runs)> Pending = [];
    private static bool watching;

    /// <summary>Unmaps <paramref name="memory"/> now when no run is in progress, else once the runs in progress have ended.</summary>
    public static void Add(ExecutableMemory memory)
    {
        var runs = RunGrace.Now();
        if (runs.Passed)
        {
            memory.Dispose();
            return;
        }

        lock (Gate)
        {
            Pending.Add((memory, runs));
            if (!watching)
            {
                watching = true;
                _ = new Sweeper();
            }
        }

        Sweep();
    }

    /// <summary>Unmaps the mappings whose runs have ended; true while some are left.</summary>
    public static bool Sweep()
    {
        lock (Gate)
        {
            Pending.RemoveAll(pending =>
            {
                if (!pending.Runs.Passed)
                {
                    return false;
                }

                pending.Memory.Dispose();
                return true;
            });
            watching = Pending.Count > 0;
            return watching;
        }
    }

    /// <summary>Looks at the pending mappings after each collection while some are left (its finalizer re-registers itself).</summary>
    private sealed class Sweeper
    {
        ~Sweeper()
        {
            if (Sweep())
            {
                GC.ReRegisterForFinalize(this);
            }
        }
    }
}
