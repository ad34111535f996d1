using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>Programs that look a key up in map 0 (index 0 of the environment's registry) and return what they found.</summary>
internal static class MapLookupPrograms
{
    /// <summary>Every engine with each of the option sets of <see cref="Options"/> (0-2).</summary>
    public static TheoryData<string, int> EnginesAndOptions()
    {
        var data = new TheoryData<string, int>();
        foreach (var engine in TestEngines.All)
        {
            for (int options = 0; options < 3; options++)
            {
                data.Add(engine.Name, options);
            }
        }

        return data;
    }

    /// <summary>Option set <paramref name="which"/>: 0 the defaults, 1 without memory checks, 2 without helper argument checks.</summary>
    public static ExecutionOptions Options(int which) => which switch
    {
        0 => new ExecutionOptions(),
        1 => new ExecutionOptions { MemoryChecks = false },
        _ => new ExecutionOptions { HelperArgumentChecks = false },
    };

    /// <summary>What the programs return when the key is absent.</summary>
    public const ulong Missing = 0xdead;

    /// <summary><c>lddw r1, map_by_idx 0</c>.</summary>
    public static readonly Instruction[] LoadMap = [new(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0)];

    /// <summary>The key is the u32 at input[0], copied to the stack; r0 = lookup ? *(u64*)r0 : <see cref="Missing"/>.</summary>
    public static readonly EbpfProgram StackKey = Lookup(
        I(OpCodes.LdxW, 2, 1, 0),
        I(OpCodes.StxW, 10, 2, -4),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4));

    /// <summary>Runs <paramref name="keyPointer"/> (which sets r2), then r0 = lookup(map 0, r2) ? *(u64*)r0 : <see cref="Missing"/>.</summary>
    public static EbpfProgram Lookup(params object[] keyPointer) => Program(
        [
            .. keyPointer,
            LoadMap,
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
            I(OpCodes.JneImm, 0, 0, 2, 0),
            I(OpCodes.Mov64Imm, 0, 0, 0, (int)Missing),
            I(OpCodes.Exit),
            I(OpCodes.LdxDW, 0, 0, 0),
            I(OpCodes.Exit),
        ]);
}
