using System.Buffers.Binary;
using Ebpf.Analysis;
using Ebpf.Diagnostics;
using Ebpf.Kernel;

namespace Ebpf.Fuzzing;

/// <summary>
/// The soundness oracle's check of the packet proofs of a kernel program. The engines check a kernel program's accesses
/// against the whole packet buffer (headroom, packet and tailroom: the packet helpers move the packet's edges inside
/// it), so a proven packet access that leaves <c>[data, data_end)</c> but stays in the buffer trips no check. This
/// observer runs the program once on the interpreter with every check on, and compares every proven access into the
/// packet (the analysis' <see cref="ValueKind.Input"/> under the type's context layout) with the packet's edges at that
/// moment, and every proven access into the metadata (<see cref="ValueKind.PacketMeta"/>) with
/// <c>[data_meta, data)</c>: the bytes touched must lie inside, at an offset from the region's start within the
/// range the proof claims. The edges come from the pointers the run's context holds, which the packet helpers keep up
/// to date.
/// </summary>
internal sealed class PacketBoundsOracle : IInstructionObserver
{
    /// <summary>The engine whose runs can be observed.</summary>
    private static readonly IExecutionEngine ObservableEngine = new Ebpf.Interpreter.InterpreterEngine();

    /// <summary>The structural checks only, as the campaign loads its kernel programs.</summary>
    private static readonly IVerifier StructuralOnly = Verification.Verifier.FromDelegate(_ => null);

    /// <summary>The rewritten program the run executes (tail-call targets are other programs, with proofs of their own).</summary>
    private readonly EbpfProgram program;

    private readonly Func<int, AccessProof> proofs;

    /// <summary>Where the native context holds data, data_end and data_meta (8 bytes each).</summary>
    private readonly int pointers;

    /// <summary>The context's address: r1 at the program's first instruction.</summary>
    private ulong context;

    private PacketBoundsOracle(EbpfProgram program, Func<int, AccessProof> proofs, int pointers)
    {
        this.program = program;
        this.proofs = proofs;
        this.pointers = pointers;
    }

    /// <summary>The first proven access that left the bounds its proof claims (null: none did).</summary>
    public string? Violation { get; private set; }

    /// <summary>How many proven packet and metadata accesses the run executed (each checked).</summary>
    public long Checked { get; private set; }

    /// <summary>
    /// Loads <paramref name="generated"/> (a kernel program) on the interpreter, test-runs it on its packet under the
    /// oracle with every check forced on, and returns the oracle. The run's own outcome (a verdict, a stopped access, a
    /// refused packet) is the differential comparison's business and is not reported here; exceptions outside the
    /// project's hierarchy propagate.
    /// </summary>
    /// <param name="generated">The case: a kernel program with its packet, environment and options.</param>
    /// <param name="proofs">The analysis' conclusion per pc (the program as written, under its type's context layout: the rewrite keeps every pc).</param>
    /// <exception cref="ArgumentException">The case is not a kernel program.</exception>
    public static PacketBoundsOracle Run(DifferentialCase generated, Func<int, AccessProof> proofs)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(proofs);
        var type = generated.KernelType ?? throw new ArgumentException("the packet-bounds oracle checks kernel programs only", nameof(generated));
        using var forced = CheckPlan.ForceChecks();
        KernelProgram loaded;
        try
        {
            loaded = KernelProgram.Load(generated.Program, type, generated.Environment, ObservableEngine, generated.Options with { RunTimeLimit = null }, StructuralOnly);
        }
        catch (EbpfException)
        {
            return new PacketBoundsOracle(generated.Program, proofs, 0); // not loadable: nothing ran, nothing to check
        }

        using (loaded)
        {
            var oracle = new PacketBoundsOracle(loaded.Program, proofs, NativeContext.PointersOffset(type));
            try
            {
                loaded.TestRunObserved(generated.Input, oracle);
            }
            catch (EbpfException)
            {
                // the run ended otherwise than with a verdict: what ran before was checked
            }

            return oracle;
        }
    }

    /// <inheritdoc />
    public void OnInstruction(in InstructionStep step)
    {
        if (!ReferenceEquals(step.Program, program))
        {
            return;
        }

        if (step.Pc == 0 && step.CallDepth == 0 && context == 0)
        {
            context = step.Registers[1];
        }

        var proof = proofs(step.Pc);
        var decoded = step.Decoded;
        if (Violation is not null || proof.Outcome != AccessOutcome.Proven || proof.Region is not (ValueKind.Input or ValueKind.PacketMeta) || !decoded.IsMemoryAccess)
        {
            return;
        }

        Checked++;
        Span<byte> edges = stackalloc byte[24];
        if (!step.TryRead(context + (ulong)pointers, edges))
        {
            Violation = $"pc {step.Pc}: the packet pointers of the context at 0x{context:x} cannot be read";
            return;
        }

        ulong data = BinaryPrimitives.ReadUInt64LittleEndian(edges);
        ulong dataEnd = BinaryPrimitives.ReadUInt64LittleEndian(edges[8..]);
        ulong meta = BinaryPrimitives.ReadUInt64LittleEndian(edges[16..]);
        bool packet = proof.Region == ValueKind.Input;
        var (start, end) = packet ? (data, dataEnd) : (meta, data);
        ulong address = step.Registers[decoded.BaseRegister] + (ulong)(long)decoded.Offset;
        long offset = unchecked((long)(address - start));
        int size = decoded.AccessSize;
        if (address < start || address + (ulong)size > end || offset < proof.MinOffset || offset > proof.MaxOffset)
        {
            Violation = $"the access at pc {step.Pc} was proven inside the {(packet ? "packet [data, data_end)" : "metadata [data_meta, data)")} at offset " +
                $"[{proof.MinOffset}, {proof.MaxOffset}] but touched {size} byte(s) at offset {offset} of its {unchecked((long)(end - start))} bytes";
        }
    }
}
