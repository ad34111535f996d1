namespace Ebpf.Execution;

/// <summary>What may stop one run from outside: the caller's token and the timer of the run's timeout (either may be none).</summary>
internal readonly record struct CancellationSources(CancellationToken Token, CancellationToken Timer);
