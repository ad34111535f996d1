using Ebpf.Analysis;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// A deliberately wrong engine for testing the soundness oracle: it stops every run with a memory access violation at
/// the first access the verifier proves, as if that proof were wrong; programs with no proven access run on the
/// interpreter.
/// </summary>
public sealed class TrippingEngine : IExecutionEngine
{
    private readonly Ebpf.Interpreter.InterpreterEngine inner = new();

    public string Name => "tripping";

    public EngineCapabilities Capabilities => EngineCapabilities.None;

    public bool IsAvailable => true;

    public string? UnavailableReason => null;

    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        var compiled = inner.Compile(program, environment, options);
        var safety = program.Analysis.Safety(SafetyContext.For(compiled.Environment, compiled.Options));
        int pc = Enumerable.Range(0, program.Length).FirstOrDefault(p => safety.Access(p).Outcome == AccessOutcome.Proven, -1);
        if (pc < 0)
        {
            return compiled;
        }

        return new Tripping(compiled, pc);
    }

    private sealed class Tripping(ICompiledProgram inner, int pc) : ICompiledProgram
    {
        public string EngineName => "tripping";

        public EbpfProgram Program => inner.Program;

        public ProgramEnvironment Environment => inner.Environment;

        public ExecutionOptions Options => inner.Options;

        public ulong Run() => Trip();

        public ulong Run(Span<byte> memory) => Trip();

        public ulong Run(Span<byte> memory, Span<byte> metadata) => Trip();

        public ulong Run(Span<byte> memory, CancellationToken cancellation) => Trip();

        public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellation) => Trip();

        public void Dispose() => inner.Dispose();

        private ulong Trip() => throw new EbpfMemoryAccessException(pc, Program.Instructions[pc], 0, 1, MemoryAccessKind.Read, "(none)");
    }
}
