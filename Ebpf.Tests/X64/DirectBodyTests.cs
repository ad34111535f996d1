using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// The x64 direct body (<c>X64Compiler.CompileWithDirect</c>): the native function a direct run calls with r1 and r2 in
/// registers, its inline check held in registers or stack slots, and its fault word. Every expected value is computed
/// here from the input bytes and the access (in bounds exactly when 0 &lt;= offset and offset + size &lt;= length), and
/// every fault is also compared with the interpreter's (pc, address, size, kind and message).
/// </summary>
[Collection(Ebpf.Tests.Diagnostics.RunListenerCollection.Name)]
public class DirectBodyTests
{
    private const int Length = 16;

    private static readonly string[] Loads = ["ldxb", "ldxh", "ldxw", "ldxdw"];

    internal static CompiledProgram Compile(string engine, string source, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(),
            (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    /// <summary>A pinned input of <paramref name="length"/> bytes holding 0x11, 0x22, ... (distinct, non-zero).</summary>
    internal static byte[] Input(int length = Length)
    {
        var input = GC.AllocateArray<byte>(length, pinned: true);
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)(0x11 * (i + 1));
        }

        return input;
    }

    internal static ulong Address(byte[] input) => (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(input, 0);

    /// <summary>The little-endian value of <paramref name="size"/> bytes at <paramref name="offset"/>, read by hand.</summary>
    internal static ulong Read(byte[] input, int offset, int size) => size switch
    {
        1 => input[offset],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(offset)),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset)),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(input.AsSpan(offset)),
    };

    /// <summary>The part of the listing after the direct body's heading.</summary>
    internal static string DirectListing(CompiledProgram compiled)
    {
        string listing = ((X64CompiledProgram)compiled).GetListing();
        int start = listing.IndexOf("; direct body", StringComparison.Ordinal);
        Assert.True(start >= 0, "the listing shows no direct body");
        return listing[start..];
    }

    /// <summary>True when <paramref name="e"/> was thrown where the direct body's fault word is read.</summary>
    private static bool ThrownByTheDirectBody(Exception e) =>
        new StackTrace(e).GetFrame(0)?.GetMethod()?.Name == "ThrowNativeDirectFault";

    /// <summary>
    /// Runs <paramref name="source"/> on x64 (through its direct body) and on the interpreter over <paramref name="input"/>
    /// and asserts the outcome: <paramref name="expected"/> r0, or, with <paramref name="faultPc"/>, a violation there
    /// at <paramref name="faultAddress"/> of <paramref name="size"/> bytes, the same as the interpreter's.
    /// </summary>
    internal static void AssertOutcome(string source, byte[] input, ulong expected, int faultPc = -1, ulong faultAddress = 0, ulong size = 0, MemoryAccessKind access = MemoryAccessKind.Read)
    {
        using var x64 = Compile("x64", source);
        using var interpreter = Compile("interpreter", source);
        Assert.True(x64.HasDirectEntry, source);
        if (faultPc < 0)
        {
            Assert.Equal(expected, x64.Run(input));
            Assert.Equal(expected, interpreter.Run(input));
            return;
        }

        var direct = Assert.Throws<EbpfMemoryAccessException>(() => x64.Run(input));
        var reference = Assert.Throws<EbpfMemoryAccessException>(() => interpreter.Run(input));
        Assert.True(ThrownByTheDirectBody(direct), source);
        Assert.Equal(faultPc, direct.Pc);
        Assert.Equal(faultAddress, direct.Address);
        Assert.Equal(size, direct.Size);
        Assert.Equal(access, direct.Access);
        Assert.Equal(reference.Message, direct.Message);
    }

    [Fact]
    public void Direct_runs_go_through_the_body_and_plain_runs_do_not()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var program = Compile("x64", "ldxw r0, [r1+20]\nexit");
        Assert.True(program.HasDirectEntry);
        Assert.Contains("; direct body", ((X64CompiledProgram)program).GetListing());
        var input = Input();
        Assert.True(ThrownByTheDirectBody(Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input))));

        // A token that can be cancelled takes the plain path: the same fault comes from the run block's code.
        using var live = new CancellationTokenSource();
        Assert.False(ThrownByTheDirectBody(Assert.Throws<EbpfMemoryAccessException>(() => program.Run(input, live.Token))));
    }

    [Fact]
    public void Every_size_at_every_offset_around_the_input_from_an_unchanged_r1()
    {
        // r1 is never written: the body compares the limit with the constant offset.
        AssertEveryOffset(
            (load, offset) => $"{load} r0, [r1{offset:+0;-0}]\nexit",
            faultPc: 0,
            offsets: size => [-9, -8, -2, -1, 0, 1, Length - size - 1, Length - size, Length - size + 1, Length - 1, Length, Length + 1]);
    }

    [Fact]
    public void Every_size_at_every_offset_around_the_input_from_a_computed_base()
    {
        // r1 is overwritten: the start lives in a register of its own and the check subtracts it from the address.
        AssertEveryOffset(
            (load, offset) => $"mov r3, r1\nadd r3, {offset}\nmov r1, 0\n{load} r0, [r3+0]\nexit",
            faultPc: 3,
            offsets: size => [-8, -1, 0, Length - size, Length - size + 1, Length]);
    }

    /// <summary>
    /// For each access size, the program <paramref name="source"/> makes of a load and an offset from the input start,
    /// at each of <paramref name="offsets"/>: the value read by hand inside the input, else a fault at <paramref name="faultPc"/>.
    /// </summary>
    private static void AssertEveryOffset(Func<string, int, string> source, int faultPc, Func<int, int[]> offsets)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var input = Input();
        ulong start = Address(input);
        for (int log2 = 0; log2 < 4; log2++)
        {
            int size = 1 << log2;
            foreach (int offset in offsets(size))
            {
                bool inside = offset >= 0 && offset + size <= Length;
                AssertOutcome(
                    source(Loads[log2], offset), input, inside ? Read(input, offset, size) : 0, inside ? -1 : faultPc, unchecked(start + (ulong)(long)offset), (ulong)size);
            }
        }
    }

    [Fact]
    public void Addresses_that_wrap_past_two_to_the_64_are_outside_unless_they_land_in_the_input()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var input = Input();
        ulong start = Address(input);

        // 8 bytes from 2^64 - 1, 4 bytes ending exactly at 2^64, 1 byte at 2^64 - 1 (the lddw takes slots 0 and 1).
        AssertOutcome("lddw r3, 0xFFFFFFFFFFFFFFFF\nldxdw r0, [r3+0]\nexit", input, 0, 2, ulong.MaxValue, 8);
        AssertOutcome("lddw r3, 0xFFFFFFFFFFFFFFFC\nldxw r0, [r3+0]\nexit", input, 0, 2, 0xFFFFFFFFFFFFFFFCUL, 4);
        AssertOutcome("lddw r3, 0xFFFFFFFFFFFFFFFF\nldxb r0, [r3+0]\nexit", input, 0, 2, ulong.MaxValue, 1);

        // r1 - 16 + 16 wraps around to r1 itself (the address arithmetic is modulo 2^64, as the interpreter's is).
        AssertOutcome("lddw r3, 0xFFFFFFFFFFFFFFF0\nadd r3, r1\nldxdw r0, [r3+16]\nexit", input, Read(input, 0, 8));

        // r1 plus its length: one past the end; and r1 - 1 through a register.
        AssertOutcome("mov r3, r1\nadd r3, r2\nldxb r0, [r3+0]\nexit", input, 0, 2, start + Length, 1);
        AssertOutcome("mov r3, r1\nsub r3, 1\nldxb r0, [r3+0]\nexit", input, 0, 2, start - 1, 1);
    }

    [Fact]
    public void Inputs_shorter_than_an_access_give_it_no_room()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // The limit of a size is 0 when the input is shorter than the size, never a wrapped-around large number.
        for (int length = 0; length <= 9; length++)
        {
            var input = Input(length);
            for (int log2 = 0; log2 < 4; log2++)
            {
                int size = 1 << log2;
                string source = $"{Loads[log2]} r0, [r1+0]\nexit";
                bool inside = size <= length;
                using var x64 = Compile("x64", source);
                using var interpreter = Compile("interpreter", source);
                if (inside)
                {
                    Assert.Equal(Read(input, 0, size), x64.Run(input));
                    continue;
                }

                var direct = Assert.Throws<EbpfMemoryAccessException>(() => x64.Run(input));
                Assert.True(ThrownByTheDirectBody(direct));
                Assert.Equal(Assert.Throws<EbpfMemoryAccessException>(() => interpreter.Run(input)).Message, direct.Message);
            }
        }
    }

    [Fact]
    public void Stores_past_the_end_fault_as_writes_after_the_stores_before_them()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var input = Input();
        AssertOutcome("stb [r1+15], 7\nstdw [r1+9], 1\nmov r0, 0\nexit", input, 0, 1, Address(input) + 9, 8, MemoryAccessKind.Write);
        Assert.Equal(7, input[15]);
        AssertOutcome("mov r4, 5\nstxh [r1+14], r4\nmov r0, 1\nexit", input, 1);
        Assert.Equal(5, input[14]);
    }

    [Fact]
    public void A_program_that_leaves_no_register_free_keeps_its_limits_on_the_stack()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // r0-r9 named, r1 and r2 written, four sizes checked: the start and four limits, but only r12 and rbp free.
        const string Source = """
            mov r3, r1
            mov r1, 1
            mov r2, 2
            mov r8, 8
            mov r9, 9
            ldxb r4, [r3+0]
            ldxh r5, [r3+2]
            ldxw r6, [r3+4]
            ldxdw r7, [r3+8]
            mov r0, r4
            add r0, r5
            add r0, r6
            add r0, r7
            add r0, r8
            add r0, r9
            add r0, r1
            add r0, r2
            exit
            """;
        using (var compiled = Compile("x64", Source))
        {
            Assert.Contains("[rsp", DirectListing(compiled));
        }

        for (int length = 0; length <= Length + 1; length++)
        {
            var input = Input(length);
            ulong start = length == 0 ? 0 : Address(input);
            if (length < 1)
            {
                AssertOutcome(Source, input, 0, 5, start, 1);
            }
            else if (length < 4)
            {
                AssertOutcome(Source, input, 0, 6, start + 2, 2);
            }
            else if (length < 8)
            {
                AssertOutcome(Source, input, 0, 7, start + 4, 4);
            }
            else if (length < 16)
            {
                AssertOutcome(Source, input, 0, 8, start + 8, 8);
            }
            else
            {
                ulong sum = Read(input, 0, 1) + Read(input, 2, 2) + Read(input, 4, 4) + Read(input, 8, 8) + 8 + 9 + 1 + 2;
                AssertOutcome(Source, input, unchecked(sum));
            }
        }
    }

    [Fact]
    public void The_body_saves_no_register_it_does_not_change_and_reads_no_run_block()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // Two checked loads from an unchanged r1: the 8-byte limit in the free register of r3, no push, no r12.
        using var twoLoads = Compile("x64", "ldxdw r0, [r1+0]\nldxdw r2, [r1+8]\nadd r0, r2\nexit");
        string body = DirectListing(twoLoads);
        Assert.DoesNotContain("push", body);
        Assert.DoesNotContain("r12", body);

        // The whole body of a constant: r0, no fault, return.
        using var constant = Compile("x64", "mov r0, 42\nexit");
        var instructions = DirectListing(constant).Split('\n').Where(line => line.StartsWith("  ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, instructions.Length);
        Assert.Equal(42UL, constant.Run());
    }
}
