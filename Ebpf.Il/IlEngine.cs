using System.Runtime.CompilerServices;
using Ebpf.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ebpf.Il;

/// <summary>
/// The IL engine: translates each eBPF function into a <see cref="System.Reflection.Emit.DynamicMethod"/> that RyuJIT
/// compiles to native code for whatever CPU the runtime runs on, with registers as <c>ulong</c> locals.
/// Semantics are the interpreter's, including memory checks (on by default), the instruction budget, call depth and
/// error kinds and pcs. Needs dynamic code: under NativeAOT it reports itself unavailable so callers fall back to the
/// interpreter.
/// </summary>
/// <remarks>
/// <para>
/// Memory checks cost one inline comparison per access, against the region the address most likely lies in (the
/// stack for pointers derived from r10, the context for r1, the input otherwise); accesses at constant offsets inside
/// the function's own frame need none. Every other region is tried on a cold path after the function body, and a
/// violation is the interpreter's error at the same pc.
/// </para>
/// <para>
/// The instruction budget is charged once per straight-line segment, and segments end at every instruction that can
/// fail, so a run stops at exactly the instruction where the interpreter stops, with the same error.
/// </para>
/// <para>
/// A function longer than 2,048 slots is compiled as several methods of about that size, which pass the registers
/// to each other through memory and return to a small dispatch loop for jumps between them: RyuJIT's time grows faster
/// than linearly with a method's size, so this keeps the time from loading to the first run roughly linear in the
/// program's length. Shorter functions (all hot loops in practice) are one method each, unchanged.
/// </para>
/// <para>
/// With <see cref="ExecutionOptions.MemoryChecks"/> = false the generated code accesses memory without any check: a
/// faulty or hostile program can then read or write any memory of the process and crash it. Use that only for
/// trusted programs. Legacy packet loads (LD_ABS/LD_IND) stay checked against the input either way.
/// </para>
/// </remarks>
public sealed class IlEngine : IExecutionEngine
{
    /// <summary>The engine's name.</summary>
    public const string EngineName = "il";

    private readonly bool dynamicCodeSupported;

    /// <summary>Creates the engine.</summary>
    public IlEngine()
        : this(RuntimeFeature.IsDynamicCodeSupported)
    {
    }

    /// <summary>Creates the engine as if the runtime did (or did not) support dynamic code (tests of the fallback).</summary>
    internal IlEngine(bool dynamicCodeSupported)
    {
        this.dynamicCodeSupported = dynamicCodeSupported;
    }

    /// <inheritdoc />
    public string Name => EngineName;

    /// <summary>Where compilations are logged (at debug level; failures as warnings), or null. The dependency-injection
    /// registration sets it to the category <c>Ebpf.Il</c> of the container's logger factory.</summary>
    public ILogger? Logger { get; init; }

    /// <inheritdoc />
    public EngineCapabilities Capabilities =>
        EngineCapabilities.CompilesToIl | EngineCapabilities.RequiresDynamicCode | EngineCapabilities.CanDisableMemoryChecks;

    /// <inheritdoc />
    public bool IsAvailable => dynamicCodeSupported;

    /// <inheritdoc />
    public string? UnavailableReason =>
        dynamicCodeSupported ? null : "dynamic code (System.Reflection.Emit) is not supported by this runtime (e.g. NativeAOT)";

    /// <summary>
    /// When true, compiled programs keep a text listing of the IL emitted for them
    /// (<see cref="IlCompiledProgram.IlListing"/>). Off by default: recording costs compile time and memory.
    /// </summary>
    public bool RecordIlListing { get; init; }

    /// <summary>
    /// Functions longer than this many slots are compiled as several methods of about this size ("chunks") instead of
    /// one: RyuJIT's time grows faster than linearly with a method's size, so this keeps the time to the first run
    /// roughly linear in the program's length. Smaller functions are one method each. Lowered by tests.
    /// </summary>
    internal int ChunkSlots { get; init; } = DefaultChunkSlots;

    /// <summary>The default of <see cref="ChunkSlots"/>.</summary>
    internal const int DefaultChunkSlots = 2048;

    /// <inheritdoc />
    /// <exception cref="EbpfEngineUnavailableException">Dynamic code is not supported here.</exception>
    /// <exception cref="EbpfUnknownHelperException">A <c>call</c> names a helper the environment does not have.</exception>
    /// <exception cref="EbpfCompilationException">An instruction's encoding is not accepted, or an <c>lddw</c> cannot be resolved.</exception>
    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (dynamicCodeSupported && RuntimeFeature.IsDynamicCodeSupported)
        {
            return EbpfTelemetry.Compile(EngineName, program, Logger, () => EbpfCompilationException.Guard(EngineName, () => new IlCompiledProgram(program, environment ?? new ProgramEnvironment(), options ?? ExecutionOptions.Default, RecordIlListing, ChunkSlots)));
        }

        throw new EbpfEngineUnavailableException(EngineName, UnavailableReason!);
    }
}
