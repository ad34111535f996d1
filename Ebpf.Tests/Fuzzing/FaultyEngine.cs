namespace Ebpf.Tests.Fuzzing;

/// <summary>A deliberately wrong engine for testing the oracles: the interpreter, with r0 one higher when it is odd.</summary>
public sealed class FaultyEngine : IExecutionEngine
{
    private readonly Ebpf.Interpreter.InterpreterEngine inner = new();

    public string Name => "faulty";

    public EngineCapabilities Capabilities => EngineCapabilities.None;

    public bool IsAvailable => true;

    public string? UnavailableReason => null;

    public ICompiledProgram Compile(EbpfProgram program, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
        new Compiled(inner.Compile(program, environment, options));

    private sealed class Compiled(ICompiledProgram inner) : ICompiledProgram
    {
        public string EngineName => "faulty";

        public EbpfProgram Program => inner.Program;

        public ProgramEnvironment Environment => inner.Environment;

        public ExecutionOptions Options => inner.Options;

        public ulong Run() => Skew(inner.Run());

        public ulong Run(Span<byte> memory) => Skew(inner.Run(memory));

        public ulong Run(Span<byte> memory, Span<byte> metadata) => Skew(inner.Run(memory, metadata));

        public ulong Run(Span<byte> memory, CancellationToken cancellation) => Skew(inner.Run(memory, cancellation));

        public ulong Run(Span<byte> memory, Span<byte> metadata, CancellationToken cancellation) => Skew(inner.Run(memory, metadata, cancellation));

        public void Dispose() => inner.Dispose();

        private static ulong Skew(ulong r0) => (r0 & 1) == 1 ? r0 + 1 : r0;
    }
}
