using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Ebpf.Diagnostics;
using Ebpf.X64.Abi;
using Ebpf.X64.Native;
using Microsoft.Extensions.Logging;

namespace Ebpf.X64;

/// <summary>
/// The native engine: translates eBPF into x86-64 machine code with the Iced assembler, places it in memory that is
/// never writable and executable at once, and calls it directly. Memory checks are on unless
/// <see cref="ExecutionOptions.MemoryChecks"/> is false. Needs no dynamic code (works under NativeAOT). Available on
/// x86-64 Linux (System V calling convention).
/// </summary>
public sealed class X64Engine : IExecutionEngine
{
    /// <summary>The engine's name.</summary>
    public const string EngineName = "x64";

    private static readonly INativeAbi? HostAbi = FindAbi(out HostUnavailableReason);
    private static readonly string? HostUnavailableReason;

    /// <summary>Creates the engine.</summary>
    public X64Engine()
    {
    }

    /// <inheritdoc />
    public string Name => EngineName;

    /// <summary>Where compilations are logged (at debug level; failures as warnings), or null. The dependency-injection
    /// registration sets it to the category <c>Ebpf.X64</c> of the container's logger factory.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// When compiled programs get a helper loop of their own that calls their rbpf-style helpers by name (see
    /// <c>X64CompiledProgram.helperLoop</c>); null (the default): once hot, or at compile time with the AppContext switch
    /// <c>Ebpf.X64.OwnHelperLoopAtCompile</c>. For tests and benchmarks that compare the loops.
    /// </summary>
    internal HelperLoopTiming? HelperLoops { get; init; }

    /// <inheritdoc />
    public EngineCapabilities Capabilities => EngineCapabilities.NativeCode | EngineCapabilities.CanDisableMemoryChecks;

    /// <inheritdoc />
    public bool IsAvailable => HostAbi is not null;

    /// <inheritdoc />
    public string? UnavailableReason => HostUnavailableReason;

    /// <summary>The number of executable code mappings alive in this process (each compiled program holds one until disposed).</summary>
    public static long LiveCodeMappings => ExecutableMemory.LiveMappings;

    /// <inheritdoc />
    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var abi = HostAbi ?? throw new EbpfEngineUnavailableException(EngineName, HostUnavailableReason ?? "unavailable");
        return EbpfTelemetry.Compile(EngineName, program, Logger, () => EbpfCompilationException.Guard(EngineName, () => new X64CompiledProgram(program, environment ?? new ProgramEnvironment(), options ?? ExecutionOptions.Default, abi, HelperLoops ?? X64CompiledProgram.DefaultHelperLoopTiming)));
    }

    [SuppressMessage("Performance", "CA1859", Justification = "The ABI layer is an interface so that a Windows x64 ABI can be added beside System V.")]
    private static INativeAbi? FindAbi(out string? reason)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            reason = $"the x64 engine needs an x86-64 process (this one is {RuntimeInformation.ProcessArchitecture})";
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            reason = $"the x64 engine supports only the System V calling convention on Linux so far (this is {RuntimeInformation.OSDescription})";
            return null;
        }

        reason = null;
        return SystemVAbi.Instance;
    }
}
