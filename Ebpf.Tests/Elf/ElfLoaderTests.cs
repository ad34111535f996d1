using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Elf;

/// <summary>What the loader finds in the example objects, how it links and relocates, and how it reports errors.</summary>
public class ElfLoaderTests
{
    private static ElfObject TestObject(string name) =>
        ElfLoader.Load(Path.Combine(ConformanceSuite.RepositoryRoot, "Ebpf.Tests", "Elf", "Objects", name + ".o"));

    [Fact]
    public void Programs_are_listed_with_their_sections()
    {
        Assert.Equal(
            [new("block_port", "xdp", 0, 784)],
            ExampleFiles.Load("block_port").Programs);
        Assert.Equal(
            [new("weighted_sum", ".text", 0, 176), new("global_data", "socket", 0, 96)],
            ExampleFiles.Load("global_data").Programs);
        Assert.Equal(
            ["chain in xdp/chain", "handle_tcp in xdp/tcp", "handle_udp in xdp/udp", "dispatch in xdp"],
            ExampleFiles.Load("tail_calls").Programs.Select(p => $"{p.Name} in {p.Section}"));
    }

    [Fact]
    public void Programs_are_selected_by_function_or_section_name()
    {
        var elf = ExampleFiles.Load("global_data");
        Assert.Equal("global_data", elf.FindProgram().Name);
        Assert.Equal("global_data", elf.FindProgram("socket").Name);
        Assert.Equal("weighted_sum", elf.FindProgram(".text").Name);
        Assert.Equal("weighted_sum", elf.FindProgram("weighted_sum").Name);
        Assert.Equal("dispatch", ExampleFiles.Load("tail_calls").FindProgram("xdp").Name);
        Assert.Equal("handle_udp", ExampleFiles.Load("tail_calls").FindProgram("xdp/udp").Name);

        var error = Assert.Throws<EbpfElfException>(() => elf.FindProgram("classifier"));
        Assert.Contains("no program or section named 'classifier'", error.Message);
        Assert.Contains("global_data in socket", error.Message);
    }

    [Fact]
    public void Legacy_and_btf_maps_and_global_data_are_read()
    {
        var filterMaps = ExampleFiles.Load("block_port").Maps;
        Assert.Equal(2, filterMaps.Count);
        Assert.Equal(new MapDefinition("verdicts", BpfMapType.Array, 4, 8, 3), filterMaps[0].Definition);
        Assert.Equal("maps", filterMaps[0].Section);

        // clang keeps the initialiser of the on-stack format string in .rodata.str1.1.
        Assert.Equal(".rodata.str1.1", filterMaps[1].Name);
        Assert.Equal("dropping packet to port %d\n\0"u8.ToArray(), filterMaps[1].InitialValue.ToArray());
        Assert.True(filterMaps[1].Definition.IsReadOnlyForPrograms);

        var counts = Assert.Single(ExampleFiles.Load("count_protocols").Maps);
        Assert.Equal(new MapDefinition("protocol_counts", BpfMapType.Hash, 4, 8, 16), counts.Definition);

        var tail = ExampleFiles.Load("tail_calls").Maps;
        Assert.Equal(new MapDefinition("jump_table", BpfMapType.ProgramArray, 4, 4, 32), tail[0].Definition);
        Assert.Equal(new Dictionary<uint, string> { [0] = "chain", [6] = "handle_tcp", [17] = "handle_udp" }, tail[0].InitialPrograms);
        Assert.Equal(new MapDefinition(".bss", BpfMapType.Array, 4, 8, 1), tail[1].Definition);

        var data = ExampleFiles.Load("global_data").Maps;
        Assert.Equal([".data", ".rodata.cst4", ".bss"], data.Select(m => m.Name));
        Assert.All(data, m => Assert.True(m.IsGlobalData));
        Assert.Equal(BitConverter.GetBytes(100UL), data[0].InitialValue.ToArray());
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, data[1].InitialValue.ToArray());
        Assert.True(data[1].Definition.IsReadOnlyForPrograms);
        Assert.Equal(new byte[8], data[2].InitialValue.ToArray());
    }

    [Fact]
    public void Local_calls_are_linked_and_relocations_become_pseudo_sources()
    {
        var program = ExampleFiles.Load("global_data").GetProgram("global_data");

        // socket (12 slots) then .text (22 slots): the call at 0 enters weighted_sum at slot 12.
        Assert.Equal(12 + 22, program.Length);
        Assert.Equal(new Instruction(OpCodes.Call, 0, 1, 0, 11), program.Instructions[0]);
        Assert.Equal(2, program.Functions.Length);
        Assert.Equal(12, program.Functions[1].Start);

        // runs -> .data (map 0), largest_sum -> .bss (map 2), weights -> .rodata.cst4 (map 1), as map values at offset 0.
        Assert.Equal(new Instruction(OpCodes.Lddw, 1, (byte)LddwSource.MapValueByIndex, 0, 0), program.Instructions[1]);
        Assert.Equal(new Instruction(OpCodes.Lddw, 1, (byte)LddwSource.MapValueByIndex, 0, 2), program.Instructions[6]);
        Assert.Equal(new Instruction(OpCodes.Lddw, 7, (byte)LddwSource.MapValueByIndex, 0, 1), program.Instructions[12 + 8]);
        Assert.Equal(0, program.Instructions[12 + 9].Imm);
        Assert.Equal("global_data", program.Name);
        Assert.Equal("socket", program.Section);

        var filter = ExampleFiles.Load("block_port").GetProgram();
        Assert.Equal(new Instruction(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, 0), filter.Instructions[5]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_text_function_runs_as_a_program_on_its_own(string engine)
    {
        using var runtime = ExampleFiles.Load("global_data").CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine), ".text");
        Assert.Equal(10UL * 1 + 20 * 2 + 30 * 3, program.Run([10, 20, 30]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Calls_to_undefined_bpf_helpers_become_helper_calls(string engine)
    {
        var elf = TestObject("extern_helpers");
        var program = elf.GetProgram("extern_helpers");
        Assert.Equal(new Instruction(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.KtimeGetNs), program.Instructions[0]);
        Assert.Equal(new Instruction(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.GetSmpProcessorId), program.Instructions[2]);

        var options = new ElfRuntimeOptions { Helpers = new LinuxHelperOptions { Clock = () => 1000, ProcessorId = 2 } };
        using var runtime = elf.CreateRuntime(options);
        using var compiled = runtime.Compile(TestEngines.Get(engine), "socket");
        Assert.Equal(1002UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Static_functions_are_linked_through_the_text_section_symbol(string engine)
    {
        var elf = TestObject("static_calls");
        Assert.Equal(["triple_plus_one in .text", "triple in .text", "static_calls in socket"], elf.Programs.Select(p => $"{p.Name} in {p.Section}"));
        using var runtime = elf.CreateRuntime();
        using var program = runtime.Compile(TestEngines.Get(engine));
        Assert.Equal(3UL * 7 + 1, program.Run(new byte[7]));
        Assert.Equal(3, runtime.GetProgram().Functions.Length);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Extra_helpers_replace_the_linux_ones(string engine)
    {
        var options = new ElfRuntimeOptions
        {
            Helpers = new LinuxHelperOptions { ProcessorId = 1 },
            ExtraHelpers = [new Helper(LinuxHelperIds.KtimeGetNs, "fixed_time", (_, _, _, _, _) => 40)],
        };
        using var runtime = TestObject("extern_helpers").CreateRuntime(options);
        using var compiled = runtime.Compile(TestEngines.Get(engine), "extern_helpers");
        Assert.Equal(41UL, compiled.Run());
        Assert.True(runtime.Environment.Helpers.TryGet(LinuxHelperIds.KtimeGetNs, out var helper));
        Assert.Equal("fixed_time", helper.Name);
    }

    [Fact]
    public void A_call_to_an_undefined_function_names_the_symbol_and_place()
    {
        var elf = TestObject("extern_helpers");
        var error = Assert.Throws<EbpfElfException>(() => elf.GetProgram("missing_symbol"));
        Assert.Contains("not_a_helper", error.Message);
        Assert.Contains("section .relsocket/missing, entry 0 (offset 0x8 in section socket/missing)", error.Where);
    }

    [Fact]
    public void Linked_programs_are_cached_per_verifier()
    {
        var elf = ExampleFiles.Load("tail_calls");
        Assert.Same(elf.GetProgram("dispatch"), elf.GetProgram("xdp"));
        Assert.NotSame(elf.GetProgram("dispatch"), elf.GetProgram("dispatch", new Ebpf.Verification.Verifier()));
    }

    [Fact]
    public void Files_that_cannot_be_read_or_are_not_bpf_objects_are_elf_errors()
    {
        var missing = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(Path.Combine(ExampleFiles.Directory, "no_such_file.o")));
        Assert.Contains("cannot read the file", missing.Message);
        Assert.Contains("not an ELF file", Assert.Throws<EbpfElfException>(() => ElfLoader.Load(new byte[100])).Message);
        Assert.Contains("fewer than the 64-byte ELF header", Assert.Throws<EbpfElfException>(() => ElfLoader.Load([0x7f, (byte)'E'])).Message);

        var wrongMachine = ExampleFiles.Bytes("block_port");
        wrongMachine[18] = 62;
        var error = Assert.Throws<EbpfElfException>(() => ElfLoader.Load(wrongMachine));
        Assert.Equal("ELF header, offset 0x12", error.Where);
        Assert.Contains("machine 62 is not BPF (247)", error.Message);

        var bigEndian = ExampleFiles.Bytes("block_port");
        bigEndian[5] = 2;
        Assert.Contains("little-endian", Assert.Throws<EbpfElfException>(() => ElfLoader.Load(bigEndian)).Message);
    }

    [Fact]
    public void Map_memory_beyond_the_limit_is_refused()
    {
        var elf = ExampleFiles.Load("count_protocols");
        var error = Assert.Throws<EbpfElfException>(() => elf.CreateRuntime(new ElfRuntimeOptions { MaxMapMemory = 100 }));
        Assert.Contains("its maps need 128 bytes, more than the 100 allowed", error.Reason);
        using var runtime = elf.CreateRuntime(new ElfRuntimeOptions { MaxMapMemory = 128 });
    }

    [Fact]
    public void Runtime_lists_and_finds_maps()
    {
        using var runtime = ExampleFiles.Load("tail_calls").CreateRuntime();
        Assert.Equal(["jump_table", ".bss"], runtime.Maps.Select(m => m.Name));
        Assert.IsType<ProgramArrayMap>(runtime.GetMap("jump_table"));
        Assert.Throws<KeyNotFoundException>(() => runtime.GetMap("nope"));
        Assert.Contains(runtime.GetMap(".bss").ValueRegion, runtime.Environment.Regions);
        Assert.Same(MapRegistry.For(runtime.Environment).Maps[1], runtime.GetMap(".bss"));
    }
}
