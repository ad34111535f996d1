using Ebpf.Cli.Loading;
using Ebpf.Conformance;
using Ebpf.Verification;

namespace Ebpf.Cli.Testing;

/// <summary>One bpf_conformance <c>.data</c> file, read and loaded once, run on any number of engines.</summary>
internal sealed class ConformanceCase
{
    private ConformanceCase(string path, ConformanceTest? test, EbpfProgram? program, string? loadError)
    {
        Path = path;
        Test = test;
        Program = program;
        LoadError = loadError;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The parsed test, or null when the file could not be parsed.</summary>
    public ConformanceTest? Test { get; }

    /// <summary>The loaded program, or null when it could not be read, assembled or verified.</summary>
    public EbpfProgram? Program { get; }

    /// <summary>Why the program could not be loaded, or null.</summary>
    public string? LoadError { get; }

    /// <summary>Reads and loads <paramref name="path"/>; a malformed file becomes a case that fails with the reason.</summary>
    public static ConformanceCase Read(string path)
    {
        ConformanceTest? test = null;
        try
        {
            test = ConformanceTest.Parse(File.ReadAllText(path), System.IO.Path.GetFileNameWithoutExtension(path));
            var program = ProgramLoader.Load(ProgramFile.ConformanceCode(test), test.Name);
            return new ConformanceCase(path, test, program, null);
        }
        catch (Exception e) when (e is EbpfException or IOException or UnauthorizedAccessException)
        {
            return new ConformanceCase(path, test, null, e.Message);
        }
    }

    /// <summary>Runs the test on <paramref name="engine"/>: null when it passes, else what went wrong.</summary>
    /// <exception cref="EbpfRunCancelledException"><paramref name="stopping"/> was cancelled (a timeout is a failure of the test).</exception>
    public string? RunOn(IExecutionEngine engine, ExecutionOptions options, CancellationToken stopping = default)
    {
        bool expectsError = Test?.Error is not null;
        if (Program is null)
        {
            return expectsError ? null : LoadError;
        }

        ulong r0;
        try
        {
            using var compiled = engine.Compile(Program, ProgramFile.ConformanceEnvironment(), options);
            r0 = compiled.Run(Test!.Memory.ToArray(), stopping);
        }
        catch (EbpfException e) when (e is not EbpfRunCancelledException { Kind: RuntimeErrorKind.Cancelled })
        {
            return expectsError ? null : e.Message;
        }

        if (expectsError)
        {
            return $"expected the error '{Test!.Error}', got r0 = {Commands.ResultText.Format(r0)}";
        }

        if (Test!.Result is not { } expected)
        {
            return "the test has no '-- result' section";
        }

        return r0 == expected ? null : $"expected {Commands.ResultText.Format(expected)}, got {Commands.ResultText.Format(r0)}";
    }
}
