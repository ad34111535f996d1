using System.Text;
using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Elf;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Kernel.Pcap;
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
/// <item><c>kernel</c>: a program, its type and a packet (<see cref="KernelInput"/>) loaded as a kernel program (context rewriting, packet helpers, maps) and test-run on every engine; any difference is a finding.</item>
/// <item><c>pcap</c>: the pcap reader on arbitrary bytes; the frames it reads, written back, read again the same.</item>
/// </list>
/// The differential targets also run the compilations that drop the checks of proven accesses and compare them with
/// every check forced on (<see cref="DifferentialRunner.CheckProofUse"/>).
/// </summary>
public sealed class FuzzTargets
{
    /// <summary>The instruction budget of every run a target makes (keeps loops finite and runs short).</summary>
    public const long Budget = 10_000;

    /// <summary>The largest total map storage the ELF target creates (bigger declarations are only loaded).</summary>
    private const ulong MaxMapStorage = 4u << 20;

    private readonly DifferentialRunner differential;
    private readonly Lazy<GeneratedEnvironments> kernelEnvironments;

    /// <summary>Creates the targets over <paramref name="engines"/> (the first is the reference for the differential target).</summary>
    /// <param name="engines">The available engines, the interpreter first.</param>
    public FuzzTargets(IReadOnlyList<IExecutionEngine> engines)
    {
        differential = new DifferentialRunner(engines) { CheckAddressIndependence = true, CheckProofUse = true };
        kernelEnvironments = new(() => GeneratedEnvironments.Create(engines[0]));
        All =
        [
            new FuzzTarget("decode", "decoding, verification and the disassembler's round trip of raw bytecode", Decode),
            new FuzzTarget("asm", "the assembler on arbitrary text and the round trip of what it accepts", Assemble),
            new FuzzTarget("elf", "ELF loading, linking, maps, compiling and running with a budget", LoadElf),
            new FuzzTarget("diff", "a program and its memory on every engine, with and without memory checks", Differential),
            new FuzzTarget("kernel", "a kernel program (XDP, tc, socket filter) loaded and test-run on a packet on every engine", KernelTestRun),
            new FuzzTarget("pcap", "the pcap reader, and the round trip of what it reads through the writer", ReadPcap),
        ];
    }

    /// <summary>Every target.</summary>
    public IReadOnlyList<FuzzTarget> All { get; }

    /// <summary>The target named <paramref name="name"/>.</summary>
    /// <param name="name">decode, asm, elf, diff, kernel or pcap.</param>
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
                using var compiled = runtime.Compile(differential.Engines[0], info.Name, GeneratedCases.OptionsFor(Budget));
                return compiled.Run(packet.ToArray());
            });
        }
    }

    private void Differential(byte[] input)
    {
        var parsed = DifferentialInput.Parse(input);
        var program = ProgramLoader.Load(parsed.Code);
        var environment = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        var verdict = differential.Compare(program, parsed.Memory, environment, GeneratedCases.OptionsFor(Budget));
        if (verdict.Mismatch is { } mismatch)
        {
            throw new FuzzFindingException($"diff: {mismatch}\n{Disassembler.ToText(parsed.Code)}");
        }
    }

    /// <summary>
    /// The kernel target: the program loaded as a kernel program of the input's type in the generated environment of
    /// that type (Linux and packet helpers, the <c>values</c>, <c>sink</c> and <c>tails</c> maps) and test-run on the
    /// packet on every engine. A program whose outcome changes between two runs of the reference (it depends on map
    /// state, random numbers or addresses) is not compared.
    /// </summary>
    private void KernelTestRun(byte[] input)
    {
        var parsed = KernelInput.Parse(input);
        var program = ProgramLoader.Load(parsed.Code);
        var verdict = differential.CompareKernel(program, parsed.Type, parsed.Packet, kernelEnvironments.Value.For(parsed.Type), GeneratedCases.OptionsFor(Budget));
        if (verdict.Mismatch is { } mismatch)
        {
            throw new FuzzFindingException($"kernel: {mismatch}\n{parsed.Type} program, packet {Convert.ToHexString(parsed.Packet)}\n{Disassembler.ToText(parsed.Code)}");
        }
    }

    /// <summary>The pcap target: every frame read, written back and read again, must come back with the same bytes.</summary>
    private static void ReadPcap(byte[] input)
    {
        var frames = PcapReader.ReadAll(new MemoryStream(input, writable: false));
        using var copy = new MemoryStream();
        using (var writer = new PcapWriter(copy, leaveOpen: true))
        {
            foreach (var frame in frames)
            {
                writer.Write(frame.Data, frame.Timestamp);
            }
        }

        copy.Position = 0;
        var again = PcapReader.ReadAll(copy);
        if (again.Count != frames.Count || again.Zip(frames).Any(p => !p.First.Data.AsSpan().SequenceEqual(p.Second.Data)))
        {
            throw new FuzzFindingException($"pcap: {frames.Count} frames written back read as {again.Count} frames or with other bytes");
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
