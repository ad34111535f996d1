using System.Reflection;
using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Isa;
using Ebpf.Tests.Diagnostics;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// The direct entry (<see cref="DirectEntry"/>): which programs get one, and that a run through it is the plain run's
/// twin (the same r0, the same memory violation with the same pc and message, <see cref="ObjectDisposedException"/>
/// once disposed, no allocation), taken only when nothing but the input can be reached (no metadata, no environment
/// region, no token, no metrics listener).
/// </summary>
[Collection(Ebpf.Tests.Diagnostics.RunListenerCollection.Name)]
public class DirectEntryTests
{
    /// <summary>Returns 42.</summary>
    private const string Constant = "mov r0, 42\nexit";

    /// <summary>The sum of the input's two 8-byte words (unchecked by the analysis: it never compares r2).</summary>
    private const string TwoLoads = """
        ldxdw r0, [r1+0]
        ldxdw r3, [r1+8]
        add r0, r3
        exit
        """;

    /// <summary>Marks the input's first byte, then reads 4 bytes at 20: past a 16-byte input (a fault at pc 1).</summary>
    private const string MarkThenFault = """
        stb [r1+0], 9
        ldxw r0, [r1+20]
        exit
        """;

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    /// <summary>Compiles with structural verification only (the stack readers read bytes they never wrote, on purpose).</summary>
    private static CompiledProgram Compile(string engine, string source, ProgramEnvironment? environment = null, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(
            Parse(source), environment ?? new ProgramEnvironment(), (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    private static bool Qualifies(string source, ExecutionOptions? options = null) =>
        DirectEntry.Qualifies(Parse(source), options ?? ExecutionOptions.Default);

    /// <summary>The engines that have a direct entry (the interpreter, il and x64, where x64 runs).</summary>
    public static TheoryData<string> DirectEngines()
    {
        var data = new TheoryData<string>();
        foreach (var engine in TestEngines.All.Where(e => e.Name is "interpreter" or "il" or "x64"))
        {
            data.Add(engine.Name);
        }

        return data;
    }

    /// <summary>A 16-byte input holding 1..16, pinned (its address is part of a violation's message).</summary>
    private static byte[] Input()
    {
        var input = GC.AllocateArray<byte>(16, pinned: true);
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)(i + 1);
        }

        return input;
    }

    /// <summary>Runs <see cref="Constant"/> <paramref name="runs"/> times (enough, for 1,000, to make the direct path hot).</summary>
    private static void RunConstant(CompiledProgram program, byte[] input, int runs)
    {
        for (int i = 0; i < runs; i++)
        {
            Assert.Equal(42UL, program.Run(input));
        }
    }

    [Fact]
    public void Straight_line_programs_that_use_r10_only_as_a_frame_base_and_reach_no_map_qualify()
    {
        Assert.True(Qualifies(Constant));
        Assert.True(Qualifies(TwoLoads));
        Assert.True(Qualifies(MarkThenFault));
        Assert.True(Qualifies("jeq r2, 0, +1\nldxb r0, [r1+0]\nexit"));
        Assert.True(Qualifies("lddw r0, 0x123456789\nexit"));

        // r10 as the base of accesses inside the frame only: a frame of the run's own (see DirectFrameTests); r10 as a
        // value, as a source or destination of anything else: none.
        Assert.True(Qualifies("stdw [r10-8], 1\nmov r0, 0\nexit"));
        Assert.True(Qualifies("ldxdw r0, [r10-8]\nexit"));
        Assert.False(Qualifies("mov r0, r10\nexit"));
        Assert.False(Qualifies("stdw [r10-8], 1\nmov r2, r10\nmov r0, 0\nexit"));

        // Calls and loops.
        Assert.False(Qualifies("call 1\nexit"));
        Assert.False(Qualifies("mov r0, 0\nadd r0, 1\njne r0, 10, -2\nexit"));
        Assert.False(Qualifies("call local f\nexit\nf:\nmov r0, 1\nexit"));

        // A legacy packet load, and an lddw of a map.
        Assert.False(Qualifies("ldabsw 0x10\nexit"));
        var mapLoad = EbpfProgram.Create(
            [new Instruction(OpCodes.Lddw, 1, (byte)LddwSource.MapByFd, 0, 2), new Instruction(0, 0, 0, 0, 0), new Instruction(OpCodes.Mov64Imm, 0, 0, 0, 0), new Instruction(OpCodes.Exit, 0, 0, 0, 0)],
            StructuralOnlyVerifier.Instance);
        Assert.False(DirectEntry.Qualifies(mapLoad, ExecutionOptions.Default));

        // A budget that could run out, a timeout, a host-built context.
        Assert.True(Qualifies(TwoLoads, ExecutionOptions.Default with { InstructionBudget = 4 }));
        Assert.False(Qualifies(TwoLoads, ExecutionOptions.Default with { InstructionBudget = 3 }));
        Assert.False(Qualifies(Constant, ExecutionOptions.Default with { Timeout = TimeSpan.FromSeconds(5) }));
    }

    [Fact]
    public void The_interpreter_il_and_x64_make_a_direct_entry_for_qualifying_programs_only()
    {
        foreach (var engine in TestEngines.All)
        {
            bool hasOne = engine.Name is "interpreter" or "il" or "x64";
            using (var constant = Compile(engine.Name, Constant))
            {
                Assert.Equal(hasOne, constant.HasDirectEntry);
            }

            using (var frame = Compile(engine.Name, "stdw [r10-8], 1\nldxdw r0, [r10-8]\nexit"))
            {
                Assert.Equal(hasOne, frame.HasDirectEntry);
            }

            using var frameAddress = Compile(engine.Name, "stdw [r10-8], 1\nmov r2, r10\nldxdw r0, [r10-8]\nexit");
            Assert.False(frameAddress.HasDirectEntry);
        }
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_direct_run_returns_what_the_program_computes(string engine)
    {
        using var constant = Compile(engine, Constant);
        using var twoLoads = Compile(engine, TwoLoads);
        using var length = Compile(engine, "mov r0, r2\nexit");
        using var address = Compile(engine, "mov r0, r1\nexit");
        Assert.True(twoLoads.HasDirectEntry);
        var input = Input();

        Assert.Equal(42UL, constant.Run(input));
        Assert.Equal(42UL, constant.Run());

        // 0x0807060504030201 + 0x100F0E0D0C0B0A09, byte by byte without a carry.
        Assert.Equal(0x18161412100E0C0AUL, twoLoads.Run(input));
        Assert.Equal(16UL, length.Run(input));

        // r1 is the input's address, and 0 for an empty input (as on the plain path).
        Assert.Equal((ulong)Marshal.UnsafeAddrOfPinnedArrayElement(input, 0), address.Run(input));
        Assert.Equal(0UL, address.Run(Span<byte>.Empty));
        Assert.Equal(0UL, address.Run());
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_direct_run_faults_with_the_plain_runs_pc_and_message(string engine)
    {
        using var program = Compile(engine, MarkThenFault);
        using var interpreted = Compile("interpreter", MarkThenFault);
        Assert.True(program.HasDirectEntry);

        var input = Input();
        var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
        Assert.Equal(1, direct.Pc);
        Assert.Equal(MemoryAccessKind.Read, direct.Access);
        Assert.Equal(4UL, direct.Size);
        Assert.Equal((ulong)Marshal.UnsafeAddrOfPinnedArrayElement(input, 0) + 20, direct.Address);
        Assert.Equal(9, input[0]);

        // The same run through the plain path (a token that can be cancelled takes it) and on the interpreter.
        input[0] = 1;
        using var live = new CancellationTokenSource();
        var plain = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token));
        Assert.Equal(9, input[0]);
        input[0] = 1;
        var reference = Assert.Throws<EbpfMemoryAccessException>(() => interpreted.Run(input, live.Token));
        Assert.Equal(reference.Message, direct.Message);
        Assert.Equal(plain.Message, direct.Message);
        Assert.Equal(plain.Pc, direct.Pc);
        Assert.Equal(plain.Address, direct.Address);

        // A write past the end: 4 bytes at 14 of 16.
        using var write = Compile(engine, "stw [r1+14], 1\nmov r0, 0\nexit");
        var written = Assert.Throws<EbpfMemoryAccessException>(() => write.Run(input));
        Assert.Equal(0, written.Pc);
        Assert.Equal(MemoryAccessKind.Write, written.Access);
        using var writeInterpreted = Compile("interpreter", "stw [r1+14], 1\nmov r0, 0\nexit");
        Assert.Equal(Assert.Throws<EbpfMemoryAccessException>(() => writeInterpreted.Run(input, live.Token)).Message, written.Message);

        // Nothing at all to reach without an input.
        using var twoLoads = Compile(engine, TwoLoads);
        Assert.Equal(0, Assert.Throws<EbpfMemoryAccessException>(() => twoLoads.Run()).Pc);
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_disposed_program_throws_on_the_direct_path(string engine)
    {
        var program = Compile(engine, Constant);
        var input = Input();
        RunConstant(program, input, 1000);

        Assert.True(program.HasDirectEntry);
        program.Dispose();
        Assert.Throws<ObjectDisposedException>(() => program.Run(input));
        Assert.Throws<ObjectDisposedException>(() => program.Run(Span<byte>.Empty));
        Assert.Throws<ObjectDisposedException>(() => program.Run());
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void Direct_runs_allocate_nothing(string engine)
    {
        using var twoLoads = Compile(engine, TwoLoads);
        var input = Input();
        ulong sum = 0;
        for (int i = 0; i < 100; i++)
        {
            sum += twoLoads.Run(input);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            sum += twoLoads.Run(input);
        }

        // Less than a byte per run (the runtime may allocate once on the thread while it tiers the path up).
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"{allocated} bytes for 10,000 runs");
        Assert.Equal(unchecked(10_100 * 0x18161412100E0C0AUL), sum);
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_region_added_after_compiling_sends_runs_to_the_plain_path_which_reaches_it(string engine)
    {
        // The program reads 8 bytes at a fixed address: a region's, known to the host. Without regions the input is a
        // direct run's only memory; with one, the run must be able to reach it (a direct run would fault).
        var region = GC.AllocateArray<byte>(8, pinned: true);
        BitConverter.TryWriteBytes(region, 0x1122334455667788UL);
        ulong address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(region, 0);
        var environment = new ProgramEnvironment();
        using var program = Compile(engine, $"lddw r3, {address}\nldxdw r0, [r3+0]\nexit", environment);
        Assert.True(program.HasDirectEntry);
        Assert.Throws<EbpfMemoryAccessException>(() => program.Run(Input()));

        environment.AddRegion(new MemoryRegion(address, 8, MemoryRegionKind.Allowed, writable: false));
        Assert.Equal(0x1122334455667788UL, program.Run(Input()));
        GC.KeepAlive(region);
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void Metadata_tokens_and_timeouts_keep_the_plain_path(string engine)
    {
        using var first = Compile(engine, "ldxb r0, [r1+0]\nexit");
        var metadata = new byte[] { 77, 0, 0, 0 };
        Assert.Equal(77UL, first.Run(Input(), metadata));
        Assert.Equal(1UL, first.Run(Input()));

        // A cancelled token refuses a brief program at pc 0, whichever entry it has.
        var refused = Assert.Throws<EbpfRunCancelledException>(() => first.Run(Input(), new CancellationToken(canceled: true)));
        Assert.Equal(0, refused.Pc);

        using var timed = Compile(engine, Constant, options: ExecutionOptions.Default with { Timeout = TimeSpan.FromSeconds(30) });
        Assert.False(timed.HasDirectEntry);
        Assert.Equal(42UL, timed.Run(Input()));
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void Runs_are_counted_while_a_listener_listens(string engine)
    {
        using var program = Compile(engine, Constant);
        var input = Input();

        // Runs before the listener starts take the direct path and count nowhere; each run while it listens counts once.
        RunConstant(program, input, 1000);

        using (var recorder = new TelemetryRecorder())
        {
            RunConstant(program, input, 3);
            Assert.Equal(3.0, recorder.Sum("ebpf.runs", ("ebpf.engine", engine)));
        }

        Assert.Equal(42UL, program.Run(input));
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_listener_of_run_durations_alone_sees_every_run(string engine)
    {
        // A listener that enables only ebpf.run.duration (not ebpf.runs) must still take runs off the direct path.
        using var program = Compile(engine, Constant);
        var input = Input();
        RunConstant(program, input, 1000);

        int thread = Environment.CurrentManagedThreadId;
        int durations = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Ebpf.Diagnostics.EbpfTelemetry.Name && instrument.Name == "ebpf.run.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (Environment.CurrentManagedThreadId == thread && tag.Key == "ebpf.engine" && Equals(tag.Value, engine))
                {
                    durations++;
                }
            }
        });
        listener.Start();
        Assert.Equal(42UL, program.Run(input));
        Assert.Equal(42UL, program.Run(input));
        Assert.Equal(2, durations);
    }

    [Fact]
    public void The_direct_run_path_is_optimized_from_its_first_call()
    {
        // Left to tiering, the path ran its unoptimized code (each check a call) until the runtime's background
        // compilation reached it, which on a loaded host could be later than a whole measurement.
        static MethodImplAttributes Flags(Type type, string name, params Type[] parameters) =>
            (type.GetMethod(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, parameters)
                ?? throw new InvalidOperationException($"{type.Name}.{name} not found")).MethodImplementationFlags;

        Assert.True(Flags(typeof(CompiledProgram), nameof(CompiledProgram.Run), typeof(Span<byte>)).HasFlag(MethodImplAttributes.AggressiveOptimization));
        Assert.True(Flags(typeof(CompiledProgram), "RunManagedDirect", typeof(Span<byte>)).HasFlag(MethodImplAttributes.AggressiveOptimization));
        Assert.True(Flags(typeof(CompiledProgram), "RunNativeDirect", typeof(Span<byte>)).HasFlag(MethodImplAttributes.AggressiveOptimization));

        // The interpreter's entry method (il's entry is its dynamic method, which the runtime never tiers).
        using var interpreted = Compile("interpreter", Constant);
        Assert.True(interpreted.HasDirectEntry);
        Assert.True(Flags(interpreted.GetType(), "ExecuteDirect", typeof(ulong), typeof(ulong)).HasFlag(MethodImplAttributes.AggressiveOptimization));
        Assert.True(Flags(interpreted.GetType(), "ExecuteDirectWithFrame", typeof(ulong), typeof(ulong)).HasFlag(MethodImplAttributes.AggressiveOptimization));
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_direct_run_nested_in_a_helper_leaves_the_outer_runs_frame_alone(string engine)
    {
        var environment = new ProgramEnvironment();
        var input = Input();
        using var inner = Compile(engine, TwoLoads, environment);
        using var fault = Compile(engine, MarkThenFault, environment);
        Assert.True(inner.HasDirectEntry);
        environment.Helpers.Add(20, "run_direct", (ulong _, ulong _, ulong _, ulong _, ulong _) =>
        {
            Assert.Throws<EbpfMemoryAccessException>(() => fault.Run(input));
            return inner.Run(input);
        });

        // The outer run holds the thread's stack area: its word survives the nested direct runs, which return their sum
        // (with the first byte 9, as the faulting run wrote it before its fault: 0x...0A + 8).
        using var outer = Compile(engine, BriefRunTests.KeepsItsFrameAroundHelper20, environment);
        Assert.Equal(0x18161412100E0C12UL, outer.Run(input));
    }

    [Theory]
    [MemberData(nameof(DirectEngines))]
    public void A_direct_run_leaves_the_threads_stack_area_as_it_found_it(string engine)
    {
        using var writer = Compile(engine, "stdw [r10-8], 5\nstdw [r10-16], 6\nmov r0, 0\nexit");
        using var reader = Compile(engine, "ldxdw r0, [r10-8]\nldxdw r1, [r10-16]\nor r0, r1\nexit");
        using var direct = Compile(engine, MarkThenFault);
        var input = Input();
        Assert.Equal(0UL, writer.Run(input));
        Assert.Throws<EbpfMemoryAccessException>(() => direct.Run(input));
        Assert.Equal(0UL, reader.Run(input));
    }
}
