using Ebpf.Elf;

namespace Ebpf.Tests.Diagnostics;

/// <summary>Source lines (.BTF.ext) and relocation names of the committed clang -g examples; lines checked against the C sources.</summary>
public class ElfDebugInfoTests
{
    private static ElfObject Example(string name) => ElfLoader.Load(Cli.Tool.Example(name));

    [Fact]
    public void Count_protocols_instructions_map_to_their_c_lines()
    {
        var info = Example("count_protocols.o").GetDebugInfo();
        Assert.True(info.HasLines);
        var lookup = info.LineAt(13)!;
        Assert.Equal(("count_protocols.c", 26), (Path.GetFileName(lookup.File), lookup.Line));
        Assert.Equal("__u64 *count = bpf_map_lookup_elem(&protocol_counts, &key);", lookup.Text.Trim());
        Assert.Equal(23, info.LineAt(9)!.Line);   // key = ip->protocol;
        Assert.Equal(33, info.LineAt(29)!.Line);  // the bpf_map_update_elem call
        Assert.Equal(44, info.LineAt(44)!.Line);  // the closing brace: exit
        Assert.Equal("count_protocols.c:26", lookup.Location);
        Assert.Null(info.LineAt(45));
    }

    [Fact]
    public void Relocated_instructions_name_their_maps_globals_and_functions()
    {
        var counts = Example("count_protocols.o").GetDebugInfo();
        Assert.Equal("protocol_counts", counts.SymbolAt(13));
        Assert.Equal("protocol_counts", counts.SymbolAt(26));
        Assert.Equal("protocol_counts", counts.SymbolAt(35));
        Assert.Null(counts.SymbolAt(15));

        // global_data: call weighted_sum (pc 0), the globals runs and largest_sum; weighted_sum follows at pc 12
        // and reads a constant table clang put in .rodata.cst4 (a section symbol).
        var global = Example("global_data.o").GetDebugInfo("global_data");
        Assert.Equal("weighted_sum", global.SymbolAt(0));
        Assert.Equal("runs", global.SymbolAt(1));
        Assert.Equal("largest_sum", global.SymbolAt(6));
        Assert.Equal(".rodata.cst4", global.SymbolAt(12 + 8));
        Assert.Equal(12 + 22, global.Length);
    }

    [Fact]
    public void Malformed_line_information_leaves_the_lines_out_and_says_why()
    {
        var image = new Ebpf.Tests.Elf.ElfImage(Ebpf.Tests.Elf.ExampleFiles.Bytes("count_protocols"));
        var ext = image.Named(".BTF.ext");
        image.Bytes[ext.Offset] = 0; // the magic
        var info = ElfLoader.Load(image.Bytes).GetDebugInfo();
        Assert.False(info.HasLines);
        Assert.Null(info.LineAt(13));
        Assert.Equal("protocol_counts", info.SymbolAt(13));
        Assert.Equal("ELF error in section .BTF.ext: not a .BTF.ext section (too short or bad magic)", info.LineInfoProblem);
    }

    [Fact]
    public void Tail_call_and_legacy_map_examples_name_their_maps()
    {
        Assert.Equal("jump_table", Example("tail_calls.o").GetDebugInfo("dispatch").SymbolAt(3));

        // block_port.o declares its map in the legacy "maps" section; llvm-objdump -r: R_BPF_64_64 verdicts at pc 5 and 19.
        var blockPort = Example("block_port.o").GetDebugInfo();
        Assert.Equal(("verdicts", "verdicts"), (blockPort.SymbolAt(5), blockPort.SymbolAt(19)));
    }
}
