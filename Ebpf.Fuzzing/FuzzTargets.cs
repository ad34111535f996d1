using System.Text;
using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Verification;

namespace Ebpf.Fuzzing;

/// <summary>
/// The coverage-guided fuzz targets (run under AFL++ by the <c>fuzz/</c> harness, replayed over the committed corpus
/// by the tests):
/// <list type="bullet">
/// <item><c>decode</c>: decoding and verification of raw bytecode; disassembly never throws and reassembles to the same bytes.</item>
/// <item><c>asm</c>: the assembler on arbitrary text; what it accepts disassembles to text that assembles to the same slots.</item>
/// <item><c>elf</c>: the ELF loader, linking every program, creating the runtime with its maps, compiling and running with a budget.</item>
/// <item><c>diff</c>: a program and its memory (<see cref="DifferentialInput"/>) run on every engine, checked and unchecked; any difference is a finding.</item>
/// </list>
/// </summary>
public sealed class FuzzTargets
{
    /// <summary>The instruction budget of every run a target makes (keeps loops finite and runs short).</summary>
    public const long Budget = 10_000;

    /// <summary>The largest total map storage the ELF target creates (bigger declarations are only loaded).</summary>
    private const ulong MaxMapStorage = 4u << 20;

    private readonly DifferentialRunner differential;

    /// <summary>Creates the targets over <paramref name="engines"/> (the first is the reference for the differential target).</summary>
    /// <param name="engines">The available engines, the interpreter first.</param>
    public FuzzTargets(IReadOnlyList<IExecutionEngine> engines)
    {
        differential = new DifferentialRunner(engines) { CheckAddressIndependence = true };
        All =
        [
            new FuzzTarget("decode", "decoding, verification and the disassembler's round trip of raw bytecode", Decode),
            new FuzzTarget("asm", "the assembler on arbitrary text and the round trip of what it accepts", Assemble),
            new FuzzTarget("elf", "ELF loading, linking, maps, compiling and running with a budget", LoadElf),
            new FuzzTarget("diff", "a program and its memory on every engine, with and without memory checks", Differential),
        ];
    }

    /// <summary>Every target.</summary>
    public IReadOnlyList<FuzzTarget> All { get; }

    /// <summary>The target named <paramref name="name"/>.</summary>
    /// <param name="name">decode, asm, elf or diff.</param>
    /// <exception cref="ArgumentException">No such target.</exception>
    public FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"unknown fuzz target '{name}' (known: {string.Join(", ", All.Select(t => t.Name))})", nameof(name));

    private static void Decode(byte[] input)
    {
        int whole = input.Length - (input.Length % Instruction.SlotSize);
        _ = Disassembler.Dump(input);
        string text = Disassembler.ToText(input.AsSpan(0, whole));
        var again = Assembler.AssembleBytes(text);
        if (!again.AsSpan().SequenceEqual(input.AsSpan(0, whole)))
        {
            throw new FuzzFindingException($"decode: the disassembly does not reassemble to the same bytes\n{text}");
        }

        _ = ProgramLoader.Load(input);
    }

    private static void Assemble(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        var slots = Assembler.Assemble(text);
        string canonical = Disassembler.ToText(slots);
        var again = Assembler.Assemble(canonical);
        if (!again.AsSpan().SequenceEqual(slots))
        {
            throw new FuzzFindingException($"asm: the canonical text does not assemble to the same slots\n{canonical}");
        }
    }

    private void LoadElf(byte[] input)
    {
        var elf = ElfLoader.Load(input);
        foreach (var info in elf.Programs)
        {
            Ignore(() => elf.GetProgram(info.Name));
        }

        ulong storage = elf.Maps.Aggregate(0ul, (sum, m) => sum + m.Definition.StorageBytes);
        if (storage > MaxMapStorage)
        {
            return;
        }

        using var runtime = elf.CreateRuntime();
        var packet = SamplePacket();
        foreach (var info in elf.Programs)
        {
            Ignore(() =>
            {
                using var compiled = runtime.Compile(differential.Engines[0], info.Name, new ExecutionOptions { InstructionBudget = Budget });
                return compiled.Run(packet.ToArray());
            });
        }
    }

    private void Differential(byte[] input)
    {
        var parsed = DifferentialInput.Parse(input);
        var program = ProgramLoader.Load(parsed.Code);
        var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        var verdict = differential.Compare(program, parsed.Memory, environment, new ExecutionOptions { InstructionBudget = Budget });
        if (verdict.Mismatch is { } mismatch)
        {
            throw new FuzzFindingException($"diff: {mismatch}\n{Disassembler.ToText(parsed.Code)}");
        }
    }

    /// <summary>Runs a step whose <see cref="EbpfException"/> is an acceptable answer, so later steps still run.</summary>
    private static void Ignore<T>(Func<T> step)
    {
        try
        {
            _ = step();
        }
        catch (EbpfException)
        {
        }
    }

    /// <summary>An Ethernet + IPv4 + TCP frame to port 9999 (what the example packet filters look at).</summary>
    private static byte[] SamplePacket()
    {
        var frame = new byte[64];
        frame[12] = 0x08;                       // EtherType IPv4
        frame[14] = 0x45;                       // version 4, IHL 5
        frame[17] = 50;                         // total length
        frame[22] = 64;                         // TTL
        frame[23] = 6;                          // TCP
        frame[36] = 0x27;                       // destination port 9999
        frame[37] = 0x0f;
        frame[46] = 0x50;                       // data offset 5
        return frame;
    }
}
