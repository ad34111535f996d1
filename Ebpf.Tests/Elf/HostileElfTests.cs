using System.Buffers.Binary;
using Ebpf.Elf;
using Ebpf.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ebpf.Tests.Elf;

/// <summary>
/// Generated hostile inputs derived from the example objects: truncations, corrupted ELF and section headers,
/// symbols, relocations, map definitions, BTF and code, and random byte flips. Loading, linking every program,
/// creating the runtime, compiling and running (with a budget) must end in success or an <see cref="EbpfException"/>,
/// never in another exception; an ELF error may wrap only an exception thrown inside ELFSharp.
/// </summary>
public class HostileElfTests(ITestOutputHelper output)
{
    private const uint SymTab = 2;
    private const uint Rel = 9;

    public static TheoryData<string, string> Groups()
    {
        var data = new TheoryData<string, string>();
        foreach (var example in ExampleFiles.ObjectNames)
        {
            foreach (var kind in Kinds)
            {
                data.Add(example, kind);
            }
        }

        return data;
    }

    private static readonly string[] Kinds = ["truncated", "header", "section-headers", "symbols", "relocations", "contents", "random"];

    [Theory]
    [MemberData(nameof(Groups))]
    public void Hostile_inputs_end_in_the_projects_exceptions(string example, string kind)
    {
        var original = ExampleFiles.Bytes(example);
        var cases = Mutations(original, kind).ToList();
        Assert.True(cases.Count >= 10, $"{kind}: only {cases.Count} cases");
        var failures = new List<string>();
        foreach (var (name, bytes) in cases)
        {
            if (Exercise(bytes) is { } failure)
            {
                failures.Add($"{example} {name}: {failure}");
            }
        }

        output.WriteLine($"{example} {kind}: {cases.Count} cases");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void A_few_hundred_cases_are_generated()
    {
        int total = ExampleFiles.ObjectNames.Sum(e => Kinds.Sum(k => Mutations(ExampleFiles.Bytes(e), k).Count()));
        output.WriteLine($"{total} generated cases");
        Assert.True(total >= 1000, $"{total} cases");
    }

    [Fact]
    public void An_unknown_relocation_type_names_the_relocation_section_and_offset()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var rel = image.Named(".relxdp");
        image.Bytes[rel.Offset + 8] = 7;
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes).GetProgram());
        Assert.Equal("section .relxdp, entry 0 (offset 0x28 in section xdp)", error.Where);
        Assert.Contains("relocation type 7 is not supported", error.Reason);
    }

    [Fact]
    public void A_relocation_outside_its_section_is_reported()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var rel = image.Named(".relxdp");
        BinaryPrimitives.WriteUInt64LittleEndian(image.Bytes.AsSpan(rel.Offset + 16), 0x4000);
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes).GetProgram());
        Assert.Equal("section .relxdp, entry 1 (offset 0x4000 in section xdp)", error.Where);
    }

    [Fact]
    public void A_relocation_on_an_instruction_that_is_not_lddw_is_reported()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var rel = image.Named(".relxdp");
        BinaryPrimitives.WriteUInt64LittleEndian(image.Bytes.AsSpan(rel.Offset), 0x38);
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes).GetProgram());
        Assert.Contains("R_BPF_64_64 applies to 'call 1', not to a complete lddw", error.Message);
    }

    [Fact]
    public void A_symbol_index_beyond_the_table_is_reported()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var rel = image.Named(".relxdp");
        BinaryPrimitives.WriteUInt32LittleEndian(image.Bytes.AsSpan(rel.Offset + 12), 999);
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes).GetProgram());
        Assert.Contains("symbol index 999 is outside the symbol table", error.Message);
        Assert.Contains("section .relxdp, entry 0", error.Where);
    }

    [Fact]
    public void A_section_beyond_the_end_of_the_file_is_reported()
    {
        var image = new ElfImage(ExampleFiles.Bytes("count_protocols"));
        var xdp = image.Named("xdp");
        BinaryPrimitives.WriteUInt64LittleEndian(image.Bytes.AsSpan(xdp.HeaderOffset + 32), 0x100000);
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes));
        Assert.Equal($"section header #{xdp.Index}", error.Where);
        Assert.Contains("outside the file", error.Reason);
    }

    [Fact]
    public void Names_outside_their_string_tables_are_reported()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var symtab = image.Named(".symtab");
        BinaryPrimitives.WriteUInt32LittleEndian(image.Bytes.AsSpan(symtab.Offset + (3 * 24)), 0xfff0);
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes));
        Assert.Equal($"section #{symtab.Index} (symbol table), entry 3", error.Where);
        Assert.Contains("name offset 65520 is outside the string table", error.Reason);

        image = new ElfImage(ExampleFiles.Bytes("block_port"));
        BinaryPrimitives.WriteUInt32LittleEndian(image.Bytes.AsSpan(image.Named("xdp").HeaderOffset), 0xfff0);
        error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes));
        Assert.Equal($"section header #{image.Named("xdp").Index}", error.Where);
        Assert.Contains("outside the section name table", error.Reason);
    }

    [Fact]
    public void An_unsupported_map_type_is_reported_with_the_map()
    {
        var image = new ElfImage(ExampleFiles.Bytes("block_port"));
        var maps = image.Named("maps");
        image.Bytes[maps.Offset] = 26; // BPF_MAP_TYPE_STRUCT_OPS
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(image.Bytes));
        Assert.Equal("section maps, offset 0x0 (map 'verdicts')", error.Where);
        Assert.Contains("map type 26 is not supported", error.Reason);
    }

    private static string? Exercise(byte[] bytes)
    {
        try
        {
            var elf = ElfLoader.Load(bytes);
            foreach (var info in elf.Programs)
            {
                try
                {
                    elf.GetProgram(info.Name);
                    var debugInfo = elf.GetDebugInfo(info.Name);
                    _ = Enumerable.Range(0, debugInfo.Length).Select(pc => (debugInfo.LineAt(pc), debugInfo.SymbolAt(pc))).Count();
                }
                catch (EbpfException e) when (Acceptable(e) is null)
                {
                }
            }

            ulong storage = elf.Maps.Aggregate(0ul, (sum, m) => sum + (m.Definition.ValueStride * m.Definition.MaxEntries));
            if (storage > (4u << 20))
            {
                return null;
            }

            using var runtime = elf.CreateRuntime();
            foreach (var info in elf.Programs)
            {
                try
                {
                    using var compiled = runtime.Compile(TestEngines.All[0], info.Name, new ExecutionOptions { InstructionBudget = 10_000 });
                    compiled.Run(ExampleFiles.Packet("tcp_9999"));
                }
                catch (EbpfException e) when (Acceptable(e) is null)
                {
                }
            }

            return null;
        }
        catch (EbpfException e)
        {
            return Acceptable(e);
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }
    }

    /// <summary>Null when the error is acceptable: an ELF error wraps only an exception thrown inside ELFSharp.</summary>
    private static string? Acceptable(EbpfException e)
    {
        if (e is EbpfElfException { InnerException: { } inner } && !ThrownInsideElfSharp(inner))
        {
            return $"ELF error wrapping {inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}";
        }

        return null;
    }

    /// <summary>True when the innermost frame outside the runtime's own code belongs to ELFSharp.</summary>
    private static bool ThrownInsideElfSharp(Exception exception)
    {
        var frames = (exception.StackTrace ?? string.Empty)
            .Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("at ", StringComparison.Ordinal)
                && !l.StartsWith("at System.", StringComparison.Ordinal)
                && !l.StartsWith("at Internal.", StringComparison.Ordinal));
        return frames.FirstOrDefault()?.StartsWith("at ELFSharp.", StringComparison.Ordinal) == true;
    }

    private static IEnumerable<(string Name, byte[] Bytes)> Mutations(byte[] original, string kind)
    {
        var image = new ElfImage(original);
        var random = new Random(original.Length * 31 + kind.Length);
        switch (kind)
        {
            case "truncated":
                for (int length = 0; length < original.Length; length += length < 128 ? 7 : 97)
                {
                    yield return ($"truncated to {length}", original[..length]);
                }

                for (int length = image.SectionHeaderOffset; length < original.Length; length += 13)
                {
                    yield return ($"truncated to {length}", original[..length]);
                }

                break;
            case "header":
                for (int offset = 0; offset < 64; offset++)
                {
                    yield return ($"header byte {offset} = 0xff", With(original, offset, 0xff));
                    yield return ($"header byte {offset} = 0", With(original, offset, 0));
                }

                break;
            case "section-headers":
                foreach (var section in image.Sections)
                {
                    foreach (int field in new[] { 0, 4, 8, 24, 32, 40, 44, 56 })
                    {
                        foreach (ulong value in new ulong[] { 0, 1, 3, 9, 0xffff_ffff, (ulong)original.Length, (ulong)random.Next() })
                        {
                            var bytes = (byte[])original.Clone();
                            if (field is 24 or 32 or 8 or 56)
                            {
                                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(section.HeaderOffset + field), value);
                            }
                            else
                            {
                                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(section.HeaderOffset + field), (uint)value);
                            }

                            yield return ($"section {section.Index} field {field} = {value}", bytes);
                        }
                    }
                }

                break;
            case "symbols":
                foreach (var table in image.OfType(SymTab))
                {
                    for (int entry = 0; entry < table.Size / 24; entry++)
                    {
                        int at = table.Offset + (entry * 24);
                        yield return ($"symbol {entry} name", WithU32(original, at, 0xffff_fff0));
                        yield return ($"symbol {entry} section 0xfff0", WithU16(original, at + 6, 0xfff0));
                        yield return ($"symbol {entry} section {image.Sections.Count}", WithU16(original, at + 6, (ushort)image.Sections.Count));
                        yield return ($"symbol {entry} section 1", WithU16(original, at + 6, 1));
                        yield return ($"symbol {entry} value +3", WithU64(original, at + 8, BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(at + 8)) + 3));
                        yield return ($"symbol {entry} value huge", WithU64(original, at + 8, 0x7fff_ffff_ffff_fff8));
                        yield return ($"symbol {entry} size huge", WithU64(original, at + 16, 0xffff_ffff_ffff_fff8));
                        yield return ($"symbol {entry} type func", With(original, at + 4, 0x12));
                    }
                }

                break;
            case "relocations":
                foreach (var rel in image.OfType(Rel))
                {
                    for (int entry = 0; entry < Math.Min(rel.Size / 16, 12); entry++)
                    {
                        int at = rel.Offset + (entry * 16);
                        yield return ($"{rel.Name} {entry} offset +4", WithU64(original, at, BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(at)) + 4));
                        yield return ($"{rel.Name} {entry} offset +8", WithU64(original, at, BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(at)) + 8));
                        yield return ($"{rel.Name} {entry} offset huge", WithU64(original, at, 0xffff_ffff_ffff_fff8));
                        yield return ($"{rel.Name} {entry} type {entry + 2}", WithU32(original, at + 8, (uint)entry + 2));
                        yield return ($"{rel.Name} {entry} type 10", WithU32(original, at + 8, 10));
                        yield return ($"{rel.Name} {entry} symbol huge", WithU32(original, at + 12, 0xffff));
                        yield return ($"{rel.Name} {entry} symbol 1", WithU32(original, at + 12, 1));
                    }
                }

                break;
            case "contents":
                foreach (var section in image.Sections.Where(s => s.Size > 0 && s.Type != 8 && !s.Name.StartsWith(".debug", StringComparison.Ordinal)))
                {
                    for (int i = 0; i < 6; i++)
                    {
                        int at = section.Offset + random.Next(section.Size);
                        yield return ($"{section.Name} byte {at - section.Offset}", With(original, at, (byte)random.Next(256)));
                    }
                }

                break;
            default:
                for (int i = 0; i < 60; i++)
                {
                    var bytes = (byte[])original.Clone();
                    for (int flips = random.Next(1, 6); flips > 0; flips--)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    yield return ($"random flips #{i}", bytes);
                }

                break;
        }
    }

    private static byte[] With(byte[] original, int offset, byte value)
    {
        var bytes = (byte[])original.Clone();
        bytes[offset] = value;
        return bytes;
    }

    private static byte[] WithU16(byte[] original, int offset, ushort value)
    {
        var bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    private static byte[] WithU32(byte[] original, int offset, uint value)
    {
        var bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    private static byte[] WithU64(byte[] original, int offset, ulong value)
    {
        var bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }
}
