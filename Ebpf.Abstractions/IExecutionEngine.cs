using System.Diagnostics.CodeAnalysis;

namespace Ebpf;

/// <summary>Turns a verified program into something that runs. Engines are stateless and thread-safe.</summary>
public interface IExecutionEngine
{
    /// <summary>The engine's name: <c>interpreter</c>, <c>il</c> or <c>x64</c>.</summary>
    string Name { get; }

    /// <summary>What the engine is and needs.</summary>
    EngineCapabilities Capabilities { get; }

    /// <summary>True when the engine can run on this machine and runtime.</summary>
    bool IsAvailable { get; }

    /// <summary>Why the engine is unavailable, or null when it is available.</summary>
    string? UnavailableReason { get; }

    /// <summary>Compiles (or prepares) a program with its environment and options.</summary>
    /// <exception cref="EbpfEngineUnavailableException">The engine cannot run here.</exception>
    /// <exception cref="EbpfCompilationException">The program needs something the environment lacks (e.g. an unknown helper id).</exception>
    /// <exception cref="EbpfVerificationException">
    /// The verification the options ask for (<see cref="ExecutionOptions.Verification"/>, hybrid by default) refuses the
    /// program: the engines of this library analyse it under <paramref name="environment"/> and the options first.
    /// </exception>
    ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null);

    /// <summary>Compiles when the engine is available; otherwise returns false with the reason (so a caller can fall back).</summary>
    bool TryCompile(
        EbpfProgram program,
        ProgramEnvironment? environment,
        ExecutionOptions? options,
        [NotNullWhen(true)] out ICompiledProgram? compiled,
        [NotNullWhen(false)] out string? reason)
    {
        if (!IsAvailable)
        {
            compiled = null;
            reason = UnavailableReason ?? "unavailable";
            return false;
        }

        compiled = Compile(program, environment, options);
        reason = null;
        return true;
    }
}
