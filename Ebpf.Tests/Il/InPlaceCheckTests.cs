using System.Buffers.Binary;
using Ebpf.Assembly;
using Ebpf.Il;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Il;

/// <summary>
/// The IL engine's checks outside every loop of a function with loops compute their region's base and limit where
/// they are, instead of reading locals the prologue set (see MemoryCheckEmitter.ComputesInPlace): the first byte past
/// the input or below the frame must still fault, the last one must not, on every engine alike, and the listing shows
/// which form each check took. Every access is checked (structural verification proves nothing).
/// </summary>
public class InPlaceCheckTests
{
    private static readonly ExecutionOptions Unproven = new() { Verification = VerificationMode.Structural };

    private static readonly byte[] Input = Enumerable.Range(0, 16).Select(i => (byte)(0x31 + (7 * i))).ToArray();

    /// <summary>A loop without memory accesses, then a read of <paramref name="size"/> bytes at input + length + <paramref name="offset"/> (pc 5).</summary>
    private static string ReadAfterLoop(int size, int offset) => $"""
        mov r3, 0
        loop:
        add r3, 1
        jlt r3, 3, loop
        mov r4, r1
        add r4, r2
        ldx{Suffix(size)} r0, [r4{offset:+0;-0}]
        exit
        """;

    /// <summary>
    /// A loop without memory accesses, then a byte stored and read back at r10 - r2 + <paramref name="offset"/> (pcs 5
    /// and 6): run on a 3-byte input, a pointer 3 bytes below the frame's top that the analysis cannot place.
    /// </summary>
    private static string StackAfterLoop(int offset) => $"""
        mov r3, 0
        loop:
        add r3, 1
        jlt r3, 3, loop
        mov r4, r10
        sub r4, r2
        stb [r4{offset:+0;-0}], 7
        ldxb r0, [r4{offset:+0;-0}]
        exit
        """;

    /// <summary>Sums the first <paramref name="count"/> input bytes in a loop (the read at pc 4), then adds the byte at <paramref name="last"/> (pc 8).</summary>
    private static string SumLoop(int count, int last) => $"""
        mov r3, 0
        mov r0, 0
        loop:
        mov r4, r1
        add r4, r3
        ldxb r5, [r4]
        add r0, r5
        add r3, 1
        jlt r3, {count}, loop
        ldxb r5, [r1+{last}]
        add r0, r5
        exit
        """;

    private static string Suffix(int size) => size switch { 1 => "b", 2 => "h", 4 => "w", _ => "dw" };

    public static TheoryData<string, int> EnginesAndSizes()
    {
        var data = new TheoryData<string, int>();
        foreach (var engine in TestEngines.All)
        {
            foreach (int size in new[] { 1, 2, 4, 8 })
            {
                data.Add(engine.Name, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndSizes))]
    public void A_read_after_a_loop_reaches_the_last_byte_of_the_input_and_not_one_more(string engine, int size)
    {
        var last = Input.AsSpan(Input.Length - size, size);
        ulong expected = size switch
        {
            1 => last[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(last),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(last),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(last),
        };
        using (var fits = Compile(engine, ReadAfterLoop(size, -size)))
        {
            Assert.Equal(expected, fits.Run(Input.ToArray()));
        }

        foreach (int offset in new[] { -size + 1, 0, -Input.Length - 1 })
        {
            using var outside = Compile(engine, ReadAfterLoop(size, offset));
            var e = Assert.Throws<EbpfMemoryAccessException>(() => outside.Run(Input.ToArray()));
            Assert.Equal(5, e.Pc);
            Assert.Equal(MemoryAccessKind.Read, e.Access);
            Assert.Equal((ulong)size, e.Size);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_store_after_a_loop_through_a_computed_pointer_stays_in_the_frame(string engine)
    {
        // r4 = r10 - r2 = r10 - 3: offsets -509 (the frame's lowest byte) and +2 (its highest) fit; -510 and +3 do not.
        foreach (int offset in new[] { -509, 2 })
        {
            using var fits = Compile(engine, StackAfterLoop(offset));
            Assert.Equal(7UL, fits.Run(new byte[3]));
        }

        foreach (int offset in new[] { -510, 3 })
        {
            using var outside = Compile(engine, StackAfterLoop(offset));
            var e = Assert.Throws<EbpfMemoryAccessException>(() => outside.Run(new byte[3]));
            Assert.Equal(5, e.Pc);
            Assert.Equal(MemoryAccessKind.Write, e.Access);
            Assert.Equal(1UL, e.Size);
        }
    }

    [Fact]
    public void The_listing_shows_the_limit_computed_in_place_after_a_loop_and_in_the_prologue_for_a_loop()
    {
        // After the loop, alone: no limit local, the limit computed at the access.
        string read = Listing(ReadAfterLoop(1, -1));
        Assert.DoesNotMatch(LimitLocalStore, read);
        Assert.Contains("call MemoryGuard::Limit", Section(read, 5));
        string store = Listing(StackAfterLoop(0));
        Assert.DoesNotMatch(LimitLocalStore, store);
        Assert.Contains("ldfld RunState::StackEnd", Section(store, 5));

        // A read inside the loop: its limit comes from the prologue, and the read after the loop, which shares it, uses
        // that local too.
        string inLoop = Listing(SumLoop(3, 4));
        Assert.Matches(LimitLocalStore, inLoop);
        Assert.Matches(LimitLocalLoad, Section(inLoop, 4));
        Assert.Matches(LimitLocalLoad, Section(inLoop, 8));
        Assert.DoesNotContain("call MemoryGuard::Limit", Section(inLoop, 8));

        // No loop at all: the prologue computes it, as before.
        string straight = Listing("""
            ldxb r0, [r1+4]
            exit
            """);
        Assert.Matches(LimitLocalStore, straight);
        Assert.Matches(LimitLocalLoad, Section(straight, 0));
    }

    [Fact]
    public void A_read_inside_and_after_a_loop_sharing_the_prologue_limit_runs_as_the_interpreter()
    {
        string source = SumLoop(16, 15);
        ulong expected = (ulong)Input.Sum(b => b) + Input[15];
        foreach (var engine in TestEngines.All)
        {
            using var compiled = Compile(engine.Name, source);
            Assert.Equal(expected, compiled.Run(Input.ToArray()));
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(Input.AsSpan(0, 15).ToArray()));
            Assert.Equal(4, e.Pc);
        }
    }

    private static string Listing(string source)
    {
        using var compiled = (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), null, Unproven);
        return compiled.IlListing!;
    }

    private const string LimitLocalStore = @"stloc \w+Limit1\b";

    private const string LimitLocalLoad = @"ldloc \w+Limit1\b";

    /// <summary>The listing of instruction <paramref name="pc"/> in the body (its first occurrence), up to the next instruction's.</summary>
    private static string Section(string listing, int pc)
    {
        int start = listing.IndexOf($"// pc {pc}:", StringComparison.Ordinal);
        Assert.True(start >= 0, $"pc {pc} is not in the listing");
        int end = listing.IndexOf("// pc ", start + 1, StringComparison.Ordinal);
        return end < 0 ? listing[start..] : listing[start..end];
    }

    private static ICompiledProgram Compile(string engine, string source) =>
        TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), null, Unproven);
}
