using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Execution;

/// <summary>
/// A run never sees stack bytes left by an earlier run or by the host: every writer below fills what it can reach with a
/// secret, then a reader that reads every stack byte it can reach (every frame, up to the top of the stack area) must
/// read zeros. On every engine, for every way the runtime bounds what a run may have written.
/// </summary>
public class StackIsolationTests
{
    private const ulong Secret = 0x5EC2E75EC2E75EC2;

    // The readers read stack bytes no store of theirs wrote (that they read zeros is the point): structural
    // verification, since the default (hybrid) refuses a read of an uninitialised stack byte at compile time.
    private static readonly ExecutionOptions Options = new() { StackSize = 512, MaxCallDepth = 8, Verification = VerificationMode.Structural };

    /// <summary>Fills the current frame (r10 - 512 .. r10) with r3, through a pointer computed from r10.</summary>
    private const string FillFrame = """
        mov r2, r10
        sub r2, 512
        {0}:
        stxdw [r2], r3
        add r2, 8
        jne r2, r10, {0}
        """;

    /// <summary>Writes the secret into every frame of the stack area: the entry function and seven nested calls.</summary>
    private static readonly string FillEveryFrame = $"""
        lddw r3, {Secret}
        {Fill("top")}
        mov r1, 7
        call local deeper
        mov r0, 0
        exit
        deeper:
        mov r6, r1
        lddw r3, {Secret}
        {Fill("fill")}
        jeq r6, 1, done
        mov r1, r6
        sub r1, 1
        call local deeper
        done:
        mov r0, 0
        exit
        """;

    /// <summary>
    /// Goes seven calls deep, then ORs together every 8-byte word from the deepest frame's lowest byte up to the top of
    /// the stack area (the entry function's r10, passed down in r1): nonzero when any byte is left over.
    /// </summary>
    private static readonly string ReadEveryFrame = $"""
        mov r1, r10
        mov r2, 7
        call local deeper
        exit
        deeper:
        jeq r2, 1, read
        sub r2, 1
        call local deeper
        exit
        read:
        {Scan("r1")}
        """;

    /// <summary>ORs together every word of the entry frame, without a local call (the reader most runs are).</summary>
    private static readonly string ReadEntryFrame = Scan("r10");

    /// <summary>ORs together into r0 every word from r10 - 512 up to <paramref name="top"/>, then exits.</summary>
    private static string Scan(string top) => $"""
        mov r0, 0
        mov r3, r10
        sub r3, 512
        scan:
        ldxdw r4, [r3]
        or r0, r4
        add r3, 8
        jne r3, {top}, scan
        exit
        """;

    /// <summary>Writes through r10 with constant offsets only (the bound is the deepest such store), then exits.</summary>
    private static readonly string ConstantStores = $"""
        lddw r3, {Secret}
        stxdw [r10-8], r3
        stxdw [r10-264], r3
        stw [r10-512], 0x5ec2
        mov r0, 0
        exit
        """;

    /// <summary>
    /// Writes the secret through a pointer computed from r10 and the input length: r3 = len &amp; 0x38 is in [0, 56], so
    /// the store's offset is in [-64, -8] and the footprint the analysis proves is 64 bytes (by hand); with a 16-byte
    /// input the run writes at r10 - 48, deeper than the range's shallow end.
    /// </summary>
    private static readonly string ComputedStore = $"""
        lddw r5, {Secret}
        mov r3, r2
        and r3, 0x38
        mov r4, r10
        sub r4, 64
        add r4, r3
        stxdw [r4], r5
        mov r0, 0
        exit
        """;

    /// <summary>
    /// Passes a 96-byte buffer at r10 - 200 to a helper whose signature says it writes it (helper 23 fills it with the
    /// secret's byte): the footprint the analysis proves is 200 bytes (by hand), no store of the program's own.
    /// </summary>
    private const string HelperFillsBuffer = """
        mov r1, r10
        add r1, -200
        mov r2, 96
        call 23
        mov r0, 0
        exit
        """;

    /// <summary>Fills the entry frame, then fails with a memory violation (the run ends in an exception).</summary>
    private static readonly string FillThenFault = $"""
        lddw r3, {Secret}
        {Fill("top")}
        mov r2, 0
        ldxdw r0, [r2]
        exit
        """;

    /// <summary>Writes through r10 with constant offsets, then fails with a memory violation: brief code whose run ends in an exception.</summary>
    private static readonly string StoresThenFault = $"""
        lddw r3, {Secret}
        stxdw [r10-8], r3
        stxdw [r10-264], r3
        mov r2, 0
        ldxdw r0, [r2]
        exit
        """;

    /// <summary>
    /// Stores through r10 with constant offsets around a call to an rbpf-style helper that gets no frame address (r10 is
    /// never a value): the footprint is the deepest store, 24 bytes (by hand), the helper notwithstanding.
    /// </summary>
    private static readonly string StoresAroundRawHelper = $"""
        lddw r3, {Secret}
        stxdw [r10-8], r3
        mov r1, 7
        call 22
        stxdw [r10-24], r3
        mov r0, 0
        exit
        """;

    public static TheoryData<string, string> Writers()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var writer in new[] { "every-frame", "constant-stores", "fill-then-fault", "helper-writes", "computed-store", "signed-helper-writes", "stores-then-fault", "raw-helper-writes", "stores-around-raw-helper" })
            {
                data.Add(engine.Name, writer);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_run_reads_zeros_wherever_an_earlier_run_wrote(string engine, string writer)
    {
        var environment = Environment();
        using var write = Compile(engine, WriterSource(writer), environment);
        using var readAll = Compile(engine, ReadEveryFrame, environment);
        using var readEntry = Compile(engine, ReadEntryFrame, environment);
        var input = new byte[16];

        for (int round = 0; round < 2; round++)
        {
            RunWriter(write, input, writer);
            Assert.Equal(0UL, readAll.Run(input));
            RunWriter(write, input, writer);
            Assert.Equal(0UL, readEntry.Run(input));
        }
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void Repeated_runs_leave_zeros_wherever_they_wrote(string engine, string writer)
    {
        // The loop of a kernel test run's repeat (the engine's own loop for the brief writers): the stack is cleared
        // after every run, the failing one included.
        var environment = Environment();
        using var write = Compile(engine, WriterSource(writer), environment);
        using var readAll = Compile(engine, ReadEveryFrame, environment);
        var input = new byte[16];
        var context = new byte[16];
        var own = (CompiledProgram)write;
        if (writer.EndsWith("fault", StringComparison.Ordinal))
        {
            Assert.Throws<EbpfMemoryAccessException>(() => own.RunRepeatedWithContext(input, context, 3, default));
        }
        else
        {
            Assert.Equal(0UL, own.RunRepeatedWithContext(input, context, 3, default));
        }

        Assert.Equal(0UL, readAll.Run(input));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_target_reads_zeros_where_the_caller_wrote(string engine)
    {
        var environment = Environment();
        using var reader = Compile(engine, ReadEveryFrame, environment);
        ICompiledProgram? target = reader;
        environment.Helpers.Add(12, "tail_call", (HelperContext context, ulong _, ulong _, ulong _, ulong _, ulong _) =>
            context.TailCall(target!) ? 0UL : 1UL);
        using var caller = Compile(engine, $"""
            lddw r3, {Secret}
            {Fill("top")}
            call 12
            mov r0, 99
            exit
            """, environment);

        Assert.Equal(0UL, caller.Run(new byte[16]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_on_a_stack_of_its_own_reads_zeros_where_the_host_wrote(string engine)
    {
        var environment = Environment();
        using var reader = Compile(engine, ReadEveryFrame, environment);
        var input = new byte[16];

        // A run that cannot use the thread's stack area (here forced; a nested run from a helper is the usual case) gets
        // one on the thread's stack, where the host's own frames have just left their bytes.
        for (int depth = 0; depth < 4; depth++)
        {
            Assert.Equal(0UL, RunStack.OnOwnStack(() => RunAfterScribbling(reader, input, depth)));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_nested_run_from_a_helper_reads_zeros_where_the_outer_run_and_earlier_runs_wrote(string engine)
    {
        var environment = Environment();
        using var fill = Compile(engine, FillEveryFrame, environment);
        using var reader = Compile(engine, ReadEveryFrame, environment);
        var input = new byte[16];
        environment.Helpers.Add(20, "run_reader", (ulong _, ulong _, ulong _, ulong _, ulong _) => reader.Run(input));
        using var outer = Compile(engine, $"""
            lddw r3, {Secret}
            {Fill("top")}
            call 20
            exit
            """, environment);

        fill.Run(input);
        Assert.Equal(0UL, outer.Run(input));
        Assert.Equal(0UL, reader.Run(input));
    }

    [Fact]
    public void The_footprint_is_the_deepest_constant_store_only_when_nothing_else_can_write()
    {
        var environment = Environment();
        Assert.Equal(0, Footprint("mov r0, 1\nexit", environment));
        Assert.Equal(0, Footprint("ldxdw r0, [r1]\nldxdw r2, [r10-8]\nadd r0, r2\nexit", environment));
        Assert.Equal(512, Footprint(ConstantStores, environment));
        Assert.Equal(16, Footprint("stdw [r10-16], 1\nstb [r10-1], 2\nmov r0, 0\nexit", environment));
        // Whole 8-byte words: a 4-byte key at r10 - 4 or a byte at r10 - 12 clears the word it lies in.
        Assert.Equal(8, Footprint("stw [r10-4], 1\nmov r0, 0\nexit", environment));
        Assert.Equal(16, Footprint("stb [r10-12], 1\nmov r0, 0\nexit", environment));

        // Stores the analysis cannot place (into the input, which may be too short; through r10 plus an unbounded
        // number), a helper without a signature that gets a frame address: one frame.
        Assert.Equal(512, Footprint("stdw [r1], 1\nmov r0, 0\nexit", environment));
        Assert.Equal(512, Footprint("mov r4, r10\nadd r4, r2\nstdw [r4-8], 1\nmov r0, 0\nexit", environment));
        Assert.Equal(512, Footprint("mov r1, r10\ncall 21\nexit", environment));
        Assert.Equal(512, Footprint("mov r1, 1\ncall 21\nexit", environment));

        // A local call, callx, a raw (rbpf-style) helper in a program that uses r10 as a value (passed or only
        // copied: it could reach the helper): the whole area.
        Assert.Equal(4096, Footprint("call local f\nexit\nf:\nmov r0, 0\nexit", environment));
        Assert.Equal(4096, Footprint("mov r1, 21\ncallx r1\nexit", environment));
        Assert.Equal(4096, Footprint("mov r1, r10\ncall 22\nexit", environment));
        Assert.Equal(4096, Footprint("mov r2, r10\nstdw [r2-8], 1\nmov r1, 1\ncall 22\nexit", environment));
        Assert.Equal(4096, Footprint("stdw [r10-8], 1\nmov r1, 1\ncall 22\ncall 21\nexit", environment));

        // A raw helper in a program that uses r10 only as the base of constant-offset accesses gets no frame address:
        // the deepest store (none: nothing), with memory checks on or off.
        Assert.Equal(0, Footprint("call 22\nexit", environment));
        Assert.Equal(0, Footprint("mov r1, 41\ncall 22\nexit", environment, Options with { MemoryChecks = false }));
        Assert.Equal(24, Footprint(StoresAroundRawHelper, environment));
        Assert.Equal(16, Footprint("ldxdw r1, [r10-16]\nstb [r10-9], 1\ncall 22\nexit", environment));

        // Memory checks off: a store through another register could go anywhere.
        Assert.Equal(4096, Footprint("stdw [r1], 1\nmov r0, 0\nexit", environment, Options with { MemoryChecks = false }));
        Assert.Equal(16, Footprint("stdw [r10-16], 1\nmov r0, 0\nexit", environment, Options with { MemoryChecks = false }));
    }

    [Fact]
    public void The_footprint_is_what_the_safety_analysis_proves_when_it_can_place_every_write()
    {
        var environment = Environment();

        // r10 copied (a key pointer), a store through the copy: the store's deepest byte.
        Assert.Equal(8, Footprint("mov r2, r10\nstdw [r2-8], 1\nmov r0, 0\nexit", environment));
        Assert.Equal(24, Footprint("mov r2, r10\nadd r2, -16\nstdw [r2-8], 1\nstb [r10-1], 1\nmov r0, 0\nexit", environment));

        // A pointer with a range of offsets: the range's deepest end (see ComputedStore).
        Assert.Equal(64, Footprint(ComputedStore, environment));

        // A store proven into the input (its length checked first) writes no stack byte.
        Assert.Equal(0, Footprint("jlt r2, 8, out\nstdw [r1], 1\nout:\nmov r0, 0\nexit", environment));

        // A helper that writes the buffer its signature describes: the buffer's deepest byte, with the program's stores.
        Assert.Equal(200, Footprint(HelperFillsBuffer, environment));
        Assert.Equal(200, Footprint("stdw [r10-8], 1\n" + HelperFillsBuffer, environment));
        Assert.Equal(256, Footprint("stdw [r10-256], 1\n" + HelperFillsBuffer, environment));

        // A helper that only reads the buffer: none of it.
        Assert.Equal(8, Footprint("stdw [r10-8], 1\nmov r1, r10\nadd r1, -8\nmov r2, 8\ncall 24\nmov r0, 0\nexit", environment));

        // A frame address in an argument the signature gives no extent (Any), a writable buffer of unbounded size: one frame.
        Assert.Equal(512, Footprint("mov r1, r10\nadd r1, -8\ncall 25\nmov r0, 0\nexit", environment));
        Assert.Equal(512, Footprint("mov r1, r10\nadd r1, -8\ncall 23\nmov r0, 0\nexit", environment));

        // No proof is used inside CheckPlan.ForceChecks, nor with memory checks off (a store anywhere is possible).
        using (CheckPlan.ForceChecks())
        {
            Assert.Equal(512, Footprint(ComputedStore, environment));
        }

        Assert.Equal(4096, Footprint(ComputedStore, environment, Options with { MemoryChecks = false }));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_compilation_analyses_the_program_once_for_its_footprint_and_its_checks(string engine)
    {
        var environment = Environment();
        var program = EbpfProgram.Create(Assembler.Assemble(ComputedStore), StructuralOnlyVerifier.Instance);
        int before = SafetyAnalyzer.RunsOnThisThread;
        using var compiled = TestEngines.Get(engine).Compile(program, environment, Options);
        Assert.Equal(1, SafetyAnalyzer.RunsOnThisThread - before);
    }

    private static string Fill(string label) => FillFrame.Replace("{0}", label, StringComparison.Ordinal);

    private static int Footprint(string source, ProgramEnvironment environment, ExecutionOptions? options = null) =>
        StackFootprint.DirtyBytes(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), environment, options ?? Options);

    private static ulong RunAfterScribbling(ICompiledProgram reader, byte[] input, int depth)
    {
        Span<byte> scribble = stackalloc byte[8192];
        scribble.Fill(0xC5);
        return depth == 0 ? Run(reader, input, scribble) : RunAfterScribbling(reader, input, depth - 1);
    }

    // The scribbled span is passed on so that its frame stays live below the run's.
    private static ulong Run(ICompiledProgram reader, byte[] input, Span<byte> scribble) =>
        scribble[0] == 0xC5 ? reader.Run(input) : ulong.MaxValue;

    private static ProgramEnvironment Environment()
    {
        var environment = new ProgramEnvironment();

        // A context helper that writes the secret into the 512 bytes below the pointer it is given.
        environment.Helpers.Add(21, "scribble", (HelperContext context, ulong address, ulong _, ulong _, ulong _, ulong _) =>
        {
            context.GetMemory(address - 512, 512, MemoryAccessKind.Write).Fill(0x5E);
            return 0;
        });
        environment.Helpers.Add(22, "raw", (ulong a, ulong _, ulong _, ulong _, ulong _) => a);

        // An rbpf-style helper that writes the secret's byte into the whole stack area below the address it is given
        // (the frame's r10: the test's area is 512 x 8 bytes).
        environment.Helpers.Add(26, "raw_scribble", (ulong address, ulong _, ulong _, ulong _, ulong _) =>
        {
            unsafe
            {
                new Span<byte>((void*)(address - 4096), 4096).Fill(0x5E);
            }

            return 0;
        });

        // Helpers with signatures: 23 fills the buffer it is given with the secret's byte (as its signature says it
        // writes), 24 only reads its buffer, 25 takes any value.
        environment.Helpers.Add(new Helper(23, "fill", (HelperContext context, ulong address, ulong size, ulong _, ulong _, ulong _) =>
        {
            context.GetMemory(address, size, MemoryAccessKind.Write).Fill(0x5E);
            return 0;
        }) { Signature = HelperSignature.Of(HelperArgumentKind.WritableMemory, HelperArgumentKind.MemorySize) });
        environment.Helpers.Add(new Helper(24, "sum", (HelperContext context, ulong address, ulong size, ulong _, ulong _, ulong _) =>
        {
            ulong sum = 0;
            foreach (byte b in context.GetMemory(address, size, MemoryAccessKind.Read))
            {
                sum += b;
            }

            return sum;
        }) { Signature = HelperSignature.Of(HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize) });
        environment.Helpers.Add(new Helper(25, "any", (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) => a)
        {
            Signature = HelperSignature.Of(HelperArgumentKind.Any),
        });
        return environment;
    }

    private static string WriterSource(string writer) => writer switch
    {
        "every-frame" => FillEveryFrame,
        "constant-stores" => ConstantStores,
        "fill-then-fault" => FillThenFault,
        "helper-writes" => "mov r1, r10\ncall 21\nexit",
        "computed-store" => ComputedStore,
        "signed-helper-writes" => HelperFillsBuffer,
        "stores-then-fault" => StoresThenFault,
        "raw-helper-writes" => "mov r1, r10\ncall 26\nmov r0, 0\nexit",
        "stores-around-raw-helper" => StoresAroundRawHelper,
        _ => throw new ArgumentOutOfRangeException(nameof(writer), writer, "unknown writer"),
    };

    private static void RunWriter(ICompiledProgram write, byte[] input, string writer)
    {
        if (writer.EndsWith("fault", StringComparison.Ordinal))
        {
            Assert.Throws<EbpfMemoryAccessException>(() => write.Run(input));
        }
        else
        {
            Assert.Equal(0UL, write.Run(input));
        }
    }

    private static ICompiledProgram Compile(string engine, string source, ProgramEnvironment environment) =>
        TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), environment, Options);
}
