using Ebpf.Il;
using Ebpf.Interpreter;
using Ebpf.X64;

namespace Ebpf.Engines;

/// <summary>
/// The engines of this repository, in one list: the tool, the tests and the benchmarks all take their engines from
/// here, so a new engine is added on one line below and every theory, benchmark and command picks it up.
/// </summary>
public static class EngineCatalog
{
    private static readonly Func<IExecutionEngine>[] Factories =
    [
        () => new InterpreterEngine(),
        () => new IlEngine(),
        () => new X64Engine(),
    ];

    /// <summary>
    /// A new instance of every engine, whether or not it can run on this machine (check
    /// <see cref="IExecutionEngine.IsAvailable"/>), in order: the interpreter, then the IL engine, then x64.
    /// </summary>
    public static IReadOnlyList<IExecutionEngine> CreateAll() => Array.ConvertAll(Factories, create => create());
}
