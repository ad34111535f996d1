using System.Collections.Concurrent;
using Ebpf.Diagnostics;

namespace Ebpf.Elf;

/// <summary>
/// A parsed clang <c>-target bpf</c> object: the programs it contains and the maps it declares. Immutable and
/// thread-safe; it owns no native resources. Link a program with <see cref="GetProgram"/>, or create an
/// <see cref="ElfRuntime"/> (maps, helpers, environment) with <see cref="CreateRuntime"/> and compile through it.
/// Load one with <see cref="ElfLoader"/>.
/// </summary>
public sealed class ElfObject
{
    private readonly ElfFile file;
    private readonly ConcurrentDictionary<(string, IVerifier?), EbpfProgram> linked = new();
    private readonly Lazy<(Dictionary<string, List<(ulong Offset, SourceLine Line)>> Lines, string? Problem)> lineInfo;

    internal ElfObject(ElfFile file, string? fileName)
    {
        this.file = file;
        FileName = fileName;
        Maps = ElfMapReader.Read(file);
        Programs = FindPrograms(file);
        lineInfo = new(() => ReadLineInfo(file), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The file the object was read from, if known.</summary>
    public string? FileName { get; }

    /// <summary>The programs: every function symbol of every code section (and each code section without function symbols), in file order.</summary>
    public IReadOnlyList<ElfProgramInfo> Programs { get; }

    /// <summary>The maps, in the order of their indices (legacy <c>maps</c>, then <c>.maps</c>, then global data sections).</summary>
    public IReadOnlyList<ElfMap> Maps { get; }

    /// <summary>
    /// Finds a program by function name, else by section name (the first function of that section). Null selects
    /// the first program outside <c>.text</c> (or the first program when all are in <c>.text</c>).
    /// </summary>
    /// <exception cref="EbpfElfException">No program matches, or the object has no programs.</exception>
    public ElfProgramInfo FindProgram(string? name = null)
    {
        if (Programs.Count == 0)
        {
            throw new EbpfElfException(FileName ?? "object", "the object contains no programs (no code sections)");
        }

        if (name is null)
        {
            return Programs.FirstOrDefault(p => !p.IsSubprogram) ?? Programs[0];
        }

        return Programs.FirstOrDefault(p => p.Name == name)
            ?? Programs.FirstOrDefault(p => p.Section == name)
            ?? throw new EbpfElfException(
                FileName ?? "object",
                $"no program or section named '{name}' (programs: {string.Join(", ", Programs.Select(p => $"{p.Name} in {p.Section}"))})");
    }

    /// <summary>
    /// Links the program <paramref name="name"/> (see <see cref="FindProgram"/>) with the local functions it calls,
    /// applies its relocations and verifies it. Map references become <c>lddw</c> pseudo source 5 (map by index)
    /// and global data pseudo source 6 (map value by index), with indices into <see cref="Maps"/>: run it with an
    /// environment from <see cref="CreateRuntime"/>.
    /// </summary>
    /// <param name="name">A function or section name; null for the default program.</param>
    /// <param name="verifier">The verifier; null uses <see cref="ElfRuntimeOptions.DefaultVerifier"/>.</param>
    /// <exception cref="EbpfElfException">The program cannot be linked.</exception>
    /// <exception cref="EbpfVerificationException">The linked program is rejected.</exception>
    public EbpfProgram GetProgram(string? name = null, IVerifier? verifier = null)
    {
        var info = FindProgram(name);
        return linked.GetOrAdd((info.Name + "\0" + info.Section, verifier), _ => Link(info, verifier ?? ElfRuntimeOptions.DefaultVerifier));
    }

    /// <summary>
    /// The source lines (from <c>.BTF.ext</c>, present when clang compiled with <c>-g</c>) and relocation target names
    /// of the program <paramref name="name"/> (see <see cref="FindProgram"/>), by pc of the linked program that
    /// <see cref="GetProgram"/> returns. Malformed line information leaves the lines out and says why in
    /// <see cref="ProgramDebugInfo.LineInfoProblem"/>: it never stops a listing or a run.
    /// </summary>
    /// <exception cref="EbpfElfException">No program matches, or it cannot be linked.</exception>
    public ProgramDebugInfo GetDebugInfo(string? name = null)
    {
        var linkedCode = LinkCode(FindProgram(name));
        var (records, problem) = lineInfo.Value;
        var lines = new Dictionary<int, SourceLine>();
        for (int pc = 0; pc < linkedCode.Origins.Length; pc++)
        {
            var (section, offset) = linkedCode.Origins[pc];
            if (records.TryGetValue(section.Name, out var sectionRecords) && LastAtOrBefore(sectionRecords, offset) is { } line)
            {
                lines[pc] = line;
            }
        }

        return new ProgramDebugInfo(linkedCode.Instructions.Length, lines, linkedCode.Symbols) { LineInfoProblem = problem };
    }

    private static (Dictionary<string, List<(ulong Offset, SourceLine Line)>>, string?) ReadLineInfo(ElfFile file)
    {
        try
        {
            return (BtfLineInfoReader.Read(file), null);
        }
        catch (EbpfElfException e)
        {
            return ([], e.Message);
        }
    }

    private static SourceLine? LastAtOrBefore(List<(ulong Offset, SourceLine Line)> records, ulong offset)
    {
        SourceLine? found = null;
        foreach (var (at, line) in records)
        {
            if (at > offset)
            {
                break;
            }

            // Line 0 marks code the compiler made up (no source line).
            found = line.Line == 0 ? null : line;
        }

        return found;
    }

    /// <summary>Creates the maps of this object and an environment holding them and the Linux helpers.</summary>
    public ElfRuntime CreateRuntime(ElfRuntimeOptions? options = null) => new(this, options ?? new ElfRuntimeOptions());

    /// <inheritdoc />
    public override string ToString() =>
        $"{FileName ?? "ELF object"}: {Programs.Count} program(s), {Maps.Count} map(s)";

    private EbpfProgram Link(ElfProgramInfo info, IVerifier verifier) =>
        EbpfProgram.Create(LinkCode(info).Instructions, verifier, info.Name, info.Section);

    private ElfLinkedCode LinkCode(ElfProgramInfo info)
    {
        var section = file.Sections.First(s => s.IsCode && s.Name == info.Section && info.Offset + info.Size <= s.Size);
        try
        {
            return ElfLinker.Link(file, Maps, section, info.Offset, info.Size);
        }
        catch (Exception e) when (e is not EbpfException)
        {
            throw new EbpfElfException($"{section.Describe()}, function '{info.Name}'", $"unexpected error while linking: {e.Message}", e);
        }
    }

    private static List<ElfProgramInfo> FindPrograms(ElfFile file)
    {
        var programs = new List<ElfProgramInfo>();
        foreach (var section in file.Sections)
        {
            if (!section.IsCode || section.Size == 0)
            {
                continue;
            }

            if (section.Size % 8 != 0)
            {
                throw new EbpfElfException(section.Describe(), $"size {section.Size} is not a multiple of the 8-byte instruction");
            }

            var functions = file.Symbols
                .Where(s => s.SectionIndex == section.Index && s.Type == ElfSymbol.TypeFunction && s.Name.Length != 0)
                .OrderBy(s => s.Value)
                .ToList();
            if (functions.Count == 0)
            {
                programs.Add(new ElfProgramInfo(section.Name, section.Name, 0, section.Size));
                continue;
            }

            foreach (var function in functions)
            {
                string where = $"{section.Describe()}, function '{function.Name}'";
                if (function.Value % 8 != 0 || function.Value >= section.Size)
                {
                    throw new EbpfElfException(where, $"starts at 0x{function.Value:x}, not on an instruction boundary inside the section ({section.Size} bytes)");
                }

                ulong size = function.Size == 0 ? section.Size - function.Value : function.Size;
                if (size % 8 != 0 || size > section.Size - function.Value)
                {
                    throw new EbpfElfException(where, $"size {function.Size} does not fit the section ({section.Size} bytes) on instruction boundaries");
                }

                programs.Add(new ElfProgramInfo(function.Name, section.Name, function.Value, size));
            }
        }

        return programs;
    }
}
