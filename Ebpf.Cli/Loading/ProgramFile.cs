using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Diagnostics;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Cli.Loading;

/// <summary>Reads program files: raw bytecode, assembly, bpf_conformance <c>.data</c> tests and ELF objects.</summary>
internal static class ProgramFile
{
    /// <summary>What <paramref name="path"/> holds, from its first bytes (ELF) or its extension.</summary>
    public static ProgramKind KindOf(string path, ReadOnlySpan<byte> content)
    {
        if (content.Length >= 4 && content[0] == 0x7f && content[1] == (byte)'E' && content[2] == (byte)'L' && content[3] == (byte)'F')
        {
            return ProgramKind.Elf;
        }

        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".s" or ".asm" => ProgramKind.Assembly,
            ".data" => ProgramKind.ConformanceData,
            ".o" or ".elf" => ProgramKind.Elf,
            _ => ProgramKind.Bytecode,
        };
    }

    /// <summary>Reads a whole file, with a one-line error when it cannot be read.</summary>
    /// <exception cref="ToolException">The file is missing or unreadable.</exception>
    public static byte[] ReadBytes(string path, string what = "file")
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{what} '{path}' is a directory, not a file");
        }

        if (!File.Exists(path))
        {
            throw new ToolException($"{what} not found: {path}");
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"cannot read {what} '{path}': {e.Message}", e);
        }
    }

    /// <summary>Reads, assembles if needed, and verifies the program in <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="section">For ELF objects, the program's section or function name (null: the first program).</param>
    /// <param name="trace">Where <c>bpf_trace_printk</c> writes (nothing when null).</param>
    /// <exception cref="ToolException">The file is missing, malformed, or the program is rejected; the message names the file.</exception>
    public static LoadedProgram Load(string path, string? section = null, TextWriter? trace = null)
    {
        var content = ReadBytes(path);
        var kind = KindOf(path, content);
        if (section is not null && kind != ProgramKind.Elf)
        {
            throw new ToolException($"--section applies to ELF objects only; '{path}' is {Describe(kind)}");
        }

        string name = Path.GetFileNameWithoutExtension(path);
        try
        {
            switch (kind)
            {
                case ProgramKind.Assembly:
                    return new LoadedProgram(ProgramLoader.Load(Assembler.Assemble(Text(content)), name), kind, StandardEnvironment(trace), null, null);
                case ProgramKind.ConformanceData:
                {
                    var test = ConformanceTest.Parse(Text(content), name);
                    return new LoadedProgram(ProgramLoader.Load(ConformanceCode(test), name), kind, ConformanceEnvironment(), test.Memory, test.Result);
                }

                case ProgramKind.Elf:
                    return LoadElf(path, content, section, trace);
                default:
                    return new LoadedProgram(ProgramLoader.Load(content, name), kind, StandardEnvironment(trace), null, null);
            }
        }
        catch (EbpfException e)
        {
            throw new ToolException(Located(path, e), e);
        }
    }

    /// <summary>
    /// The raw code in <paramref name="path"/> without verification (for listings), one entry per program: a single
    /// unnamed entry for bytecode, assembly and conformance tests; one per program section for ELF objects, with
    /// its source lines and relocation names.
    /// </summary>
    /// <exception cref="ToolException">The file is missing or cannot be read as its kind.</exception>
    public static IReadOnlyList<(string? Name, byte[] Code, ProgramDebugInfo? Info)> ReadCode(string path)
    {
        var content = ReadBytes(path);
        var kind = KindOf(path, content);
        try
        {
            return kind switch
            {
                ProgramKind.Assembly => [(null, Instruction.EncodeAll(Assembler.Assemble(Text(content))), null)],
                ProgramKind.ConformanceData => [(null, Instruction.EncodeAll(ConformanceCode(ConformanceTest.Parse(Text(content), Path.GetFileNameWithoutExtension(path)))), null)],
                ProgramKind.Elf => ElfCode(path, content),
                _ => [(null, content, null)],
            };
        }
        catch (EbpfException e)
        {
            throw new ToolException(Located(path, e), e);
        }
    }

    private static LoadedProgram LoadElf(string path, byte[] content, string? section, TextWriter? trace)
    {
        var elf = ElfLoader.Load(content, path);
        var runtime = elf.CreateRuntime(new ElfRuntimeOptions { Helpers = new LinuxHelperOptions { TraceOutput = trace } });
        try
        {
            return new LoadedProgram(runtime.GetProgram(section), ProgramKind.Elf, runtime.Environment, null, null, runtime);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The programs of an ELF object, linked (relocations applied, local functions appended) with only the structural
    /// checks; the <c>.text</c> functions are listed on their own only when the object has no other programs.
    /// </summary>
    private static List<(string? Name, byte[] Code, ProgramDebugInfo? Info)> ElfCode(string path, byte[] content)
    {
        var elf = ElfLoader.Load(content, path);
        var structuralOnly = new DelegateVerifier(_ => null);
        var programs = elf.Programs.Any(p => !p.IsSubprogram) ? elf.Programs.Where(p => !p.IsSubprogram) : elf.Programs;
        return programs
            .Select(p => ((string?)$"{p.Name} (section {p.Section})", elf.GetProgram(p.Name, structuralOnly).Bytes.ToArray(), (ProgramDebugInfo?)elf.GetDebugInfo(p.Name)))
            .ToList();
    }

    /// <summary>The message of <paramref name="e"/>, prefixed with the file unless it names it already.</summary>
    private static string Located(string path, EbpfException e) =>
        e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}";

    /// <summary>The program of a conformance test: its assembly, or its raw slots.</summary>
    /// <exception cref="EbpfAssemblyException">The test has neither, or its assembly is malformed.</exception>
    public static Instruction[] ConformanceCode(ConformanceTest test)
    {
        if (test.Asm is { } asm)
        {
            return Assembler.Assemble(asm, test.AsmFirstLine);
        }

        if (test.Raw is { } raw)
        {
            return Instruction.DecodeAll(raw);
        }

        throw new EbpfAssemblyException(1, 1, "the test has no program (expected an '-- asm' or '-- raw' section)");
    }

    /// <summary>
    /// The environment of programs from bytecode and assembly files: rbpf's built-in helpers (<c>bpf_ktime_getns</c> 5,
    /// <c>bpf_trace_printk</c> 6 writing to <paramref name="trace"/>, <c>gather_bytes</c> 0, <c>memfrob</c> 1,
    /// <c>sqrti</c> 3, <c>strcmp</c> 4, <c>rand</c> 7).
    /// </summary>
    public static ProgramEnvironment StandardEnvironment(TextWriter? trace) =>
        new(RbpfHelpers.Register(new HelperTable(), trace ?? TextWriter.Null));

    /// <summary>The environment of bpf_conformance tests: the suite's helpers (ids 0 to 5, including <c>unwind</c>).</summary>
    public static ProgramEnvironment ConformanceEnvironment() => new(ConformanceHelpers.CreateTable());

    /// <summary>A short description of a kind, for messages.</summary>
    public static string Describe(ProgramKind kind) => kind switch
    {
        ProgramKind.Assembly => "assembly text",
        ProgramKind.ConformanceData => "a bpf_conformance test",
        ProgramKind.Elf => "an ELF object",
        _ => "raw bytecode",
    };

    private static string Text(byte[] content) => System.Text.Encoding.UTF8.GetString(content);
}
