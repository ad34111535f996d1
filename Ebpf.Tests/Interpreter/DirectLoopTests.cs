using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Interpreter;

/// <summary>
/// The interpreter's direct entry: its dispatch loop's direct copy, which a plain run of a qualifying program takes
/// (see <see cref="DirectEntry"/>). Its memory check admits the input and nothing else, and a fault is the plain run's
/// (pc, address, size, kind, message). Expected values are read by hand from the input bytes: an access of
/// <c>size</c> bytes at <c>offset</c> is inside exactly when 0 &lt;= offset and offset + size &lt;= length.
/// </summary>
public class DirectLoopTests
{
    private static readonly string[] Loads = ["ldxb", "ldxh", "ldxw", "ldxdw"];

    private static readonly string[] Stores = ["stb", "sth", "stw", "stdw"];

    private static CompiledProgram Interpret(string source, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get("interpreter").Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(),
            (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    /// <summary>A pinned input of <paramref name="length"/> bytes: 0xA1, 0xA2, ... (distinct and never 0).</summary>
    private static byte[] Bytes(int length)
    {
        var bytes = GC.AllocateArray<byte>(length, pinned: true);
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(0xA1 + i);
        }

        return bytes;
    }

    /// <summary>The name of the method that threw <paramref name="e"/> (its first stack frame).</summary>
    private static string? ThrownIn(Exception e) => new StackTrace(e).GetFrame(0)?.GetMethod()?.Name;

    /// <summary>The offset written as the assembler reads it: +n or -n.</summary>
    private static string Signed(int offset) => offset < 0 ? $"-{-offset}" : $"+{offset}";

    [Fact]
    public void Plain_runs_of_a_qualifying_program_go_through_the_direct_loop_and_token_runs_do_not()
    {
        using var program = Interpret("ldxw r0, [r1+14]\nexit");
        Assert.True(program.HasDirectEntry);
        var input = Bytes(16);

        var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
        Assert.Equal("ThrowDirectViolation", ThrownIn(direct));

        using var live = new CancellationTokenSource();
        var plain = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token));
        Assert.Equal("ThrowViolation", ThrownIn(plain));
        Assert.Equal(plain.Message, direct.Message);
    }

    [Fact]
    public void Every_size_at_every_offset_around_the_input_is_allowed_exactly_inside_it()
    {
        using var live = new CancellationTokenSource();
        for (int length = 0; length <= 9; length++)
        {
            var input = Bytes(length);
            ulong start = length == 0 ? 0 : (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(input, 0);
            for (int log2 = 0; log2 < 4; log2++)
            {
                int size = 1 << log2;
                for (int offset = -9; offset <= length + 1; offset++)
                {
                    // From r1 itself, and from a base computed into r3 (the same address either way).
                    string[] sources =
                    [
                        $"{Loads[log2]} r0, [r1{Signed(offset)}]\nexit",
                        $"mov r3, r1\nadd r3, {offset}\n{Loads[log2]} r0, [r3+0]\nexit",
                    ];
                    foreach (string source in sources)
                    {
                        using var program = Interpret(source);
                        Assert.True(program.HasDirectEntry, source);
                        if (offset >= 0 && offset + size <= length)
                        {
                            Assert.Equal(Read(input, offset, size), program.Run(input));
                            continue;
                        }

                        var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
                        var plain = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token));
                        Assert.Equal("ThrowDirectViolation", ThrownIn(direct));
                        Assert.Equal(source.Count(c => c == '\n') - 1, direct.Pc);
                        Assert.Equal(unchecked(start + (ulong)(long)offset), direct.Address);
                        Assert.Equal((ulong)size, direct.Size);
                        Assert.Equal(MemoryAccessKind.Read, direct.Access);
                        Assert.Equal(plain.Message, direct.Message);
                    }
                }
            }
        }
    }

    [Fact]
    public void A_store_past_the_end_faults_after_the_stores_before_it()
    {
        using var live = new CancellationTokenSource();
        for (int log2 = 0; log2 < 4; log2++)
        {
            int size = 1 << log2;
            using var program = Interpret($"stb [r1+0], 0x5a\n{Stores[log2]} [r1+{17 - size}], 7\nmov r0, 1\nexit");
            var input = Bytes(16);
            var direct = Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input));
            Assert.Equal(1, direct.Pc);
            Assert.Equal(MemoryAccessKind.Write, direct.Access);
            Assert.Equal(0x5a, input[0]);
            Assert.Equal(Bytes(16)[1..], input[1..]);

            input[0] = 0xA1;
            Assert.Equal(Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token)).Message, direct.Message);
        }
    }

    [Fact]
    public void A_direct_run_starts_with_r0_and_r3_to_r9_zero_whatever_the_run_before_it_left()
    {
        using var writer = Interpret("""
            mov r0, -1
            mov r3, -3
            mov r4, -4
            mov r5, -5
            mov r6, -6
            mov r7, -7
            mov r8, -8
            mov r9, -9
            mov r1, -1
            exit
            """);
        using var reader = Interpret("""
            or r0, r3
            or r0, r4
            or r0, r5
            or r0, r6
            or r0, r7
            or r0, r8
            or r0, r9
            exit
            """);
        Assert.True(writer.HasDirectEntry);
        Assert.True(reader.HasDirectEntry);
        var input = Bytes(8);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(ulong.MaxValue, writer.Run(input));
            Assert.Equal(0UL, reader.Run(input));
        }
    }

    [Fact]
    public void A_load_the_analysis_proves_runs_unchecked_and_its_guard_still_decides()
    {
        // The length compare proves the load: the decoded form has no check for it, the guard keeps short inputs out.
        using var program = Interpret("jlt r2, 8, +2\nldxdw r0, [r1+0]\nexit\nmov r0, 7\nexit");
        var statistics = (IMemoryCheckStatistics)program;
        Assert.Equal(1, statistics.ProvenAccesses);
        Assert.Equal(0, statistics.CheckedAccesses);
        Assert.True(program.HasDirectEntry);

        var input = Bytes(8);
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(input), program.Run(input));
        Assert.Equal(7UL, program.Run(Bytes(7)));
        Assert.Equal(7UL, program.Run());
    }

    [Fact]
    public void Programs_outside_the_shape_keep_the_plain_loop()
    {
        // A frame address as a value, a call, a loop and a budget shorter than the program: each needs what the direct
        // copy leaves out (a frame reached only through r10 plus a constant is the direct copy's own: DirectFrameTests).
        string[] plainOnly =
        [
            "stdw [r10-8], 3\nmov r1, r10\nldxdw r0, [r1-8]\nexit",
            "call local f\nexit\nf:\nmov r0, 1\nexit",
            "mov r0, 0\nadd r0, 1\njne r0, 10, -2\nexit",
        ];
        foreach (string source in plainOnly)
        {
            using var program = Interpret(source);
            Assert.False(program.HasDirectEntry, source);
        }

        using var budgeted = Interpret("mov r0, 1\nmov r0, 2\nexit", ExecutionOptions.Default with { InstructionBudget = 2 });
        Assert.False(budgeted.HasDirectEntry);
        Assert.Equal(RuntimeErrorKind.BudgetExceeded, Assert.Throws<EbpfBudgetExceededException>(() => budgeted.Run(Bytes(8))).Kind);
    }

    /// <summary>The little-endian value of <paramref name="size"/> bytes of <paramref name="input"/> at <paramref name="offset"/>.</summary>
    private static ulong Read(byte[] input, int offset, int size)
    {
        ulong value = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            value = (value << 8) | input[offset + i];
        }

        return value;
    }
}
