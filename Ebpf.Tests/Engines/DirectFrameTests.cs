using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>
/// The direct entry of a program that uses r10 only as the base of accesses at constant offsets inside its frame
/// (<see cref="DirectEntry.FrameBytes"/>): the run gets a fresh, zeroed frame of its own on the native stack (the
/// interpreter's and il's <c>stackalloc</c>/<c>localloc</c>, x64's body), so it reads its own stores and zeros
/// elsewhere, however dirty the native stack was, run after run; its faults are the plain run's.
/// </summary>
public class DirectFrameTests
{
    /// <summary>
    /// Reads two frame words it has not written (zeros), writes them (7 at r10 - 512, the deepest byte of a default
    /// frame, and 9 at r10 - 264), reads them back, stores the input's first word at r10 - 4 and reads its second byte:
    /// 0 + 7 + 9 + 2 = 18 with the input 1..16 (by hand).
    /// </summary>
    private const string UsesItsFrame = """
        ldxdw r0, [r10-512]
        ldxdw r4, [r10-264]
        or r0, r4
        stdw [r10-512], 7
        stdw [r10-264], 9
        ldxdw r3, [r10-512]
        add r0, r3
        ldxdw r3, [r10-264]
        add r0, r3
        ldxw r3, [r1+0]
        stxw [r10-4], r3
        ldxb r3, [r10-3]
        add r0, r3
        exit
        """;

    /// <summary>Ors together every 8-byte word of a 40-byte frame (never written: zeros), plus 1.</summary>
    private const string ReadsItsFrame = """
        ldxdw r0, [r10-8]
        ldxdw r3, [r10-16]
        or r0, r3
        ldxdw r3, [r10-24]
        or r0, r3
        ldxdw r3, [r10-32]
        or r0, r3
        ldxdw r3, [r10-40]
        or r0, r3
        add r0, 1
        exit
        """;

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    /// <summary>Compiles with structural verification only (the programs read frame bytes they never wrote, on purpose).</summary>
    private static CompiledProgram Compile(string engine, string source, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(
            Parse(source), new ProgramEnvironment(), (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    private static byte[] Input()
    {
        var input = GC.AllocateArray<byte>(16, pinned: true);
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)(i + 1);
        }

        return input;
    }

    [Fact]
    public void The_frame_is_the_deepest_access_through_r10_in_whole_words_when_r10_is_only_a_base()
    {
        var options = ExecutionOptions.Default;
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("mov r0, 1\nexit"), options));
        Assert.Equal(8, DirectEntry.FrameBytes(Parse("stdw [r10-8], 1\nmov r0, 1\nexit"), options));
        Assert.Equal(16, DirectEntry.FrameBytes(Parse("stw [r10-4], 1\nldxb r0, [r10-13]\nexit"), options));
        Assert.Equal(512, DirectEntry.FrameBytes(Parse(UsesItsFrame), options));
        Assert.Equal(40, DirectEntry.FrameBytes(Parse(ReadsItsFrame), options));

        // r10 as a value (copied, stored, compared), an access outside the frame or deeper than MaxFrameBytes: none.
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stdw [r10-8], 1\nmov r1, r10\nmov r0, 1\nexit"), options));
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stxdw [r10-8], r10\nmov r0, 1\nexit"), options));
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stdw [r10-8], 1\njeq r10, 0, +0\nmov r0, 1\nexit"), options));
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stdw [r10+0], 1\nmov r0, 1\nexit"), options));
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stdw [r10-520], 1\nmov r0, 1\nexit"), options with { StackSize = 1024 }));
        Assert.Equal(0, DirectEntry.FrameBytes(Parse("stdw [r10-264], 1\nmov r0, 1\nexit"), options with { StackSize = 256 }));

        Assert.True(DirectEntry.Qualifies(Parse(UsesItsFrame), options));
        Assert.False(DirectEntry.Qualifies(Parse("stdw [r10-8], 1\nmov r1, r10\nmov r0, 1\nexit"), options));
    }

    [Theory]
    [MemberData(nameof(DirectEntryTests.DirectEngines), MemberType = typeof(DirectEntryTests))]
    public void A_direct_run_reads_its_own_stores_and_zeros_elsewhere_however_dirty_the_native_stack(string engine)
    {
        using var program = Compile(engine, UsesItsFrame);
        using var reader = Compile(engine, ReadsItsFrame);
        Assert.True(program.HasDirectEntry);
        Assert.True(reader.HasDirectEntry);
        var input = Input();

        for (int round = 0; round < 200; round++)
        {
            // The host's frames below this one full of 0xC5 (and the program's own last run's bytes): the run's frame
            // lies where they were.
            Scribble();
            Assert.Equal(18UL, program.Run(input));
            Scribble();
            Assert.Equal(1UL, reader.Run(input));
            Assert.Equal(1UL, reader.Run(input));
        }

        // The plain path (a token that can be cancelled takes it) computes the same.
        using var live = new CancellationTokenSource();
        Assert.Equal(18UL, program.Run(input, live.Token));
    }

    [Theory]
    [MemberData(nameof(DirectEntryTests.DirectEngines), MemberType = typeof(DirectEntryTests))]
    public void A_direct_run_with_a_frame_faults_with_the_plain_runs_pc_and_message(string engine)
    {
        using var program = Compile(engine, "stdw [r10-8], 1\nldxdw r3, [r10-8]\nldxw r0, [r1+20]\nadd r0, r3\nexit");
        Assert.True(program.HasDirectEntry);
        var input = Input();
        var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
        using var live = new CancellationTokenSource();
        var plain = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token));
        Assert.Equal(2, direct.Pc);
        Assert.Equal(plain.Pc, direct.Pc);
        Assert.Equal(plain.Address, direct.Address);
        Assert.Equal(plain.Message, direct.Message);
    }

    [Theory]
    [MemberData(nameof(DirectEntryTests.DirectEngines), MemberType = typeof(DirectEntryTests))]
    public void A_direct_run_with_a_frame_leaves_the_threads_stack_area_alone(string engine)
    {
        // The direct run's frame is its own: a plain run's reader of the same words still reads zeros afterwards.
        using var writer = Compile(engine, "stdw [r10-8], 5\nstdw [r10-16], 6\nmov r0, 0\nexit");
        using var plainReader = Compile(engine, "ldxdw r0, [r10-8]\nldxdw r1, [r10-16]\nor r0, r1\nmov r2, r10\nexit");
        Assert.True(writer.HasDirectEntry);
        Assert.False(plainReader.HasDirectEntry);
        Assert.Equal(0UL, writer.Run(Input()));
        Assert.Equal(0UL, plainReader.Run(Input()));
    }

    /// <summary>Fills 8 KiB of this thread's native stack below the caller with 0xC5 and returns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void Scribble()
    {
        byte* bytes = stackalloc byte[8192];
        new Span<byte>(bytes, 8192).Fill(0xC5);
        GC.KeepAlive(bytes[100]);
    }
}
