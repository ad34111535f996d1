using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Cli;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Guarded loops whose address arithmetic the x64 engine's unchecked copies leave out (the load or store takes
/// <c>[s + t + displacement]</c>, see <c>X64Compiler.EmitFused</c>), the induction variable's increment between the
/// sum and the access as clang places it: on every engine, with memory checks on and off, the results worked out
/// here, including runs that leave the copy for the checked loop and fault there.
/// </summary>
public class GuardedCopySumTests
{
    // r0 = the sum of the sign-extended bytes up to the first zero byte; the index r3 moves on between the sum and the load (pc 5).
    private const string SignedSumToZero = "mov r0, 0\nmov r3, 0\nloop:\nmov r4, r1\nadd r4, r3\nadd r3, 1\nldxsb r5, [r4]\nadd r0, r5\njne r5, 0, loop\nexit";

    // Copies bytes 0..n-1 to 16..16+n-1 (n = r2, set first); r0 = n; both sums are left out, the load's sum with
    // three instructions between and the store's with two (pc 7 loads, pc 8 stores).
    private static string Copy(int n) =>
        $"mov r2, {n}\nmov r0, 0\nloop:\nmov r4, r1\nadd r4, r0\nmov r5, r1\nadd r5, r0\nadd r0, 1\nldxb r3, [r4]\nstxb [r5+16], r3\njlt r0, r2, loop\nexit";

    private static ICompiledProgram Compile(string engine, EbpfProgram program, bool checks) =>
        TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { MemoryChecks = checks });

    /// <summary>Runs on a pinned copy of <paramref name="input"/>: r0 and the memory, or the fault's pc and its address relative to the input.</summary>
    private static string Outcome(ICompiledProgram compiled, byte[] input)
    {
        var memory = GC.AllocateArray<byte>(input.Length, pinned: true);
        input.CopyTo(memory);
        ulong start = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(memory, 0);
        try
        {
            return $"r0={compiled.Run(memory)} memory={Convert.ToHexString(memory)}";
        }
        catch (EbpfMemoryAccessException e)
        {
            return $"fault at pc {e.Pc}, input{unchecked((long)(e.Address - start)):+0;-0;+0}";
        }
    }

    /// <summary>Bytes with the top bit set on most: 0x80 | (i * 37), never 0, then a 0 at <paramref name="zeroAt"/> (none for -1).</summary>
    private static byte[] Bytes(int length, int zeroAt)
    {
        var bytes = Enumerable.Range(0, length).Select(i => (byte)(0x80 | (i * 37))).ToArray();
        if (zeroAt >= 0)
        {
            bytes[zeroAt] = 0;
        }

        return bytes;
    }

    /// <summary>The x64 compilation with checks guards the loop (so its copy runs); the others run it as they always do.</summary>
    private static void AssertGuarded(string engine, ICompiledProgram compiled, bool checks)
    {
        if (engine == X64Engine.EngineName && checks)
        {
            Assert.True(((ILoopGuardStatistics)compiled).GuardedLoops >= 1, "the loop has a guard and a copy");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(Engines.AddressArithmeticTests))]
    public void A_sign_extending_walk_with_its_increment_between_sum_and_load(string engine, bool checks)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(SignedSumToZero));
        using var compiled = Compile(engine, program, checks);
        AssertGuarded(engine, compiled, checks);
        foreach (int zeroAt in new[] { 0, 1, 31, 200, 255 })
        {
            var input = Bytes(256, zeroAt);
            long sum = 0;
            for (int i = 0; i <= zeroAt; i++)
            {
                sum += (sbyte)input[i];
            }

            Assert.Equal($"r0={unchecked((ulong)sum)} memory={Convert.ToHexString(input)}", Outcome(compiled, input));
        }

        if (checks)
        {
            // No zero byte: the walk leaves the copy for the checked loop and faults one byte past the end.
            Assert.Equal("fault at pc 5, input+64", Outcome(compiled, Bytes(64, -1)));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(Engines.AddressArithmeticTests))]
    public void A_byte_copy_whose_load_and_store_take_their_sums(string engine, bool checks)
    {
        foreach (int n in new[] { 1, 2, 15, 16 })
        {
            var program = ProgramLoader.Load(Assembler.Assemble(Copy(n)));
            using var compiled = Compile(engine, program, checks);
            AssertGuarded(engine, compiled, checks);
            var input = Bytes(32, -1);
            var expected = (byte[])input.Clone();
            Array.Copy(input, 0, expected, 16, n);
            Assert.Equal($"r0={n} memory={Convert.ToHexString(expected)}", Outcome(compiled, input));
        }

        if (checks)
        {
            // 17 bytes: the 17th store lands one byte past the end, after the copy handed over to the checked loop.
            var program = ProgramLoader.Load(Assembler.Assemble(Copy(17)));
            using var compiled = Compile(engine, program, checks);
            Assert.Equal("fault at pc 8, input+32", Outcome(compiled, Bytes(32, -1)));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(Engines.AddressArithmeticTests))]
    public void Clangs_strcmp_compares_in_its_guarded_copy(string engine, bool checks)
    {
        var program = EbpfProgram.Create(File.ReadAllBytes(Tool.Example(Path.Combine("bench", "strcmp.bin"))), Verifier.Default);
        using var compiled = Compile(engine, program, checks);
        AssertGuarded(engine, compiled, checks);
        foreach (int mismatchAt in new[] { 0, 1, 100, 127, -1 })
        {
            // Two equal strings of 127 bytes with the top bit set, NUL-terminated, the second changed at mismatchAt.
            var input = new byte[256];
            for (int i = 0; i < 127; i++)
            {
                input[i] = input[128 + i] = (byte)(0x80 | (i * 37));
            }

            if (mismatchAt >= 0)
            {
                input[128 + mismatchAt] ^= 0x41;
            }

            // strcmp.c: the index of the first difference (or of the NUL) times 512, plus 256, plus a[i] - b[i].
            int at = 0;
            while (input[at] != 0 && input[at] == input[128 + at])
            {
                at++;
            }

            ulong expected = unchecked(((ulong)at << 9) + 256 + input[at] - input[128 + at]);
            Assert.Equal($"r0={expected} memory={Convert.ToHexString(input)}", Outcome(compiled, input));
        }
    }
}
