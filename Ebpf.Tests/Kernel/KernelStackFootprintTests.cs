using Ebpf.Execution;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// The stack footprint of kernel programs with map lookups (issue 14): each copies r10 for a key and stores through
/// map-value pointers, which used to count as writing the whole 512-byte frame; the safety analysis bounds it to the
/// deepest store into the frame. Expected values read by hand from the objects' disassembly (<c>llvm-objdump -d</c>):
/// the deepest <c>*(uN *)(r10 - k)</c> store, plus its size past r10 - k, none of the helpers writing the stack, rounded
/// up to whole 8-byte words (the footprint is cleared a word at a time).
/// </summary>
public sealed class KernelStackFootprintTests
{
    [Theory]
    [InlineData("xdp_stats", "xdp_stats", 24)] // u64 at r10 - 24 (and r10 - 16), the u32 key at r10 - 4
    [InlineData("xdp_parse", "xdp_parse", 24)] // u64 at r10 - 24 and r10 - 16, the u32 key at r10 - 4
    [InlineData("xdp_tail", "xdp_tail", 8)] // the u32 key at r10 - 4, a whole word
    [InlineData("xdp_tail", "tail_l3", 8)] // u32 keys at r10 - 8 and r10 - 4
    [InlineData("xdp_tail", "tail_l4", 8)] // the u32 key at r10 - 4, a whole word
    public void A_kernel_program_with_a_map_lookup_zeroes_only_what_it_stores(string file, string name, int bytes)
    {
        foreach (var engine in TestEngines.All)
        {
            using var runtime = KernelOracleCase.Runtime(file);
            using var program = KernelProgram.Load(runtime, engine, name);
            var compiled = program.Compiled;
            Assert.Equal(bytes, StackFootprint.DirtyBytes(compiled.Program, compiled.Environment, compiled.Options));
        }
    }
}
