using Ebpf.Verification;

namespace Ebpf.DependencyInjection;

/// <summary>
/// The settings of <c>services.AddEbpf()</c>, bound from the configuration section <see cref="SectionName"/>
/// (when an <c>IConfiguration</c> is registered) and then from the delegate given to <c>AddEbpf</c>; validated when
/// the host starts.
/// </summary>
public sealed class EbpfOptions
{
    /// <summary>The configuration section the options bind from: <c>Ebpf</c>.</summary>
    public const string SectionName = "Ebpf";

    /// <summary>
    /// The engine the unkeyed <see cref="IExecutionEngine"/> resolves to: a registered engine name (<c>interpreter</c>,
    /// <c>il</c>, <c>x64</c>) or a policy (<c>safest</c>, <c>fastest</c>, <c>auto</c>). Default <c>safest</c>: the
    /// interpreter when it is registered, otherwise the safest registered engine that can run here.
    /// </summary>
    public string DefaultEngine { get; set; } = EngineSelector.SafestName;

    /// <summary>The most instructions a run may execute, or null for no limit (see <see cref="ExecutionOptions.InstructionBudget"/>).</summary>
    public long? InstructionBudget { get; set; }

    /// <summary>Whether every memory access is checked (see <see cref="ExecutionOptions.MemoryChecks"/>). Default true.</summary>
    public bool MemoryChecks { get; set; } = true;

    /// <summary>Whether helper pointer arguments are checked (see <see cref="ExecutionOptions.HelperArgumentChecks"/>). Default true.</summary>
    public bool HelperArgumentChecks { get; set; } = true;

    /// <summary>
    /// What the safety analysis must accept before a program is compiled (see <see cref="ExecutionOptions.Verification"/>):
    /// <see cref="VerificationMode.Hybrid"/> (the default) rejects programs with definite errors,
    /// <see cref="VerificationMode.Strict"/> every program not proven safe, <see cref="VerificationMode.Structural"/>
    /// demands no proof. Configuration takes the name (<c>"Strict"</c>, case-insensitive).
    /// </summary>
    public VerificationMode Verification { get; set; } = VerificationMode.Hybrid;

    /// <summary>The bytes of stack per frame: a multiple of 8 from 8 to 65,536. Default 512.</summary>
    public int StackSize { get; set; } = ExecutionOptions.Default.StackSize;

    /// <summary>The maximum number of frames, from 1 to 64. Default 8.</summary>
    public int MaxCallDepth { get; set; } = ExecutionOptions.Default.MaxCallDepth;

    /// <summary>
    /// The longest a run may take before it stops with <see cref="EbpfRunCancelledException"/>, or null for no limit
    /// (see <see cref="ExecutionOptions.Timeout"/>). Default null. Configuration takes a time span (<c>"00:00:10"</c>).
    /// </summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>
    /// The age at which the process-wide watchdog stops a run, at no cost per run (see
    /// <see cref="ExecutionOptions.RunTimeLimit"/>). Default 10 seconds; null or
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns it off. Configuration takes a time span
    /// (<c>"00:00:05"</c>); an empty value turns it off.
    /// </summary>
    public TimeSpan? RunTimeLimit { get; set; } = ExecutionOptions.DefaultRunTimeLimit;

    /// <summary>The names of the settings the configuration section may hold.</summary>
    internal static IReadOnlyList<string> SettingNames { get; } =
        [nameof(DefaultEngine), nameof(InstructionBudget), nameof(Timeout), nameof(RunTimeLimit), nameof(MemoryChecks), nameof(HelperArgumentChecks), nameof(Verification), nameof(StackSize), nameof(MaxCallDepth)];

    /// <summary>What the configuration section held that could not be bound (reported when the options are validated).</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The <see cref="ExecutionOptions"/> these settings describe.</summary>
    public ExecutionOptions ToExecutionOptions() => new()
    {
        InstructionBudget = InstructionBudget,
        MemoryChecks = MemoryChecks,
        HelperArgumentChecks = HelperArgumentChecks,
        Verification = Verification,
        StackSize = StackSize,
        MaxCallDepth = MaxCallDepth,
        Timeout = Timeout,
        RunTimeLimit = RunTimeLimit,
    };
}
