using System.Buffers.Binary;
using System.Numerics;
using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// The shift-shift-or sequences clang emits for rotations (which x64 compiles to one rotate instruction), and their
/// near misses, on every engine, with and without memory checks. The expected values are computed here with
/// <see cref="BitOperations.RotateLeft(ulong, int)"/> and plain shifts from the input word.
/// </summary>
public class RotationTests
{
    /// <summary>The input word x (r1 after <c>ldxdw r1, [r1]</c>), with bits set at both ends so that every shift loses some.</summary>
    private const ulong X = 0xF123_4567_89AB_CDEFUL;

    /// <summary>r2 = 1000 and r4 = 7 throughout; the programs mix them into r0 so that a lost register shows.</summary>
    private const string Prologue = "mov r2, 1000\nmov r4, 7\nldxdw r1, [r1]\n";

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void In_place_rotation_keeps_the_temporary_when_it_is_read_later(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\nlsh r1, 13\nor r1, r3\nmov r0, r1\nxor r0, r3\nadd r0, r2\nexit");
        Assert.Equal((BitOperations.RotateLeft(X, 13) ^ (X >> 51)) + 1000, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void In_place_rotation_with_a_dead_temporary(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 32\nlsh r1, 32\nor r1, r3\nmov r3, 5\nmov r0, r1\nadd r0, r3\nexit");
        Assert.Equal(BitOperations.RotateLeft(X, 32) + 5, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void Rotation_into_another_register_with_the_left_shift_first(string engine, bool checks)
    {
        // r5 = rol(x, 16), r3 = x << 16, r1 unchanged.
        ulong r0 = Run(engine, checks, "mov r3, r1\nlsh r3, 16\nmov r5, r1\nrsh r5, 48\nor r5, r3\nmov r0, r5\nxor r0, r3\nadd r0, r1\nexit");
        Assert.Equal((BitOperations.RotateLeft(X, 16) ^ (X << 16)) + X, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void Rotation_into_r0_from_r0_temporary_at_exit(string engine, bool checks)
    {
        // The temporary is r0 and the program exits right after: r0 is what the program returns.
        ulong r0 = Run(engine, checks, "mov r0, r1\nrsh r0, 47\nmov r5, r1\nlsh r5, 17\nor r5, r0\nexit");
        Assert.Equal(X >> 47, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void An_unrelated_instruction_between_reads_x_before_it_changes(string engine, bool checks)
    {
        // clang's interleaving: r4 += x sits between the shift of the temporary and the shift of x.
        ulong r0 = Run(engine, checks, "mov r0, r1\nrsh r0, 47\nadd r4, r1\nlsh r1, 17\nor r1, r0\nmov r0, r1\nadd r0, r4\nexit");
        Assert.Equal(BitOperations.RotateLeft(X, 17) + X + 7, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void An_instruction_that_reads_x_after_its_shift_sees_the_shifted_value(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\nlsh r1, 13\nadd r4, r1\nor r1, r3\nmov r0, r1\nadd r0, r4\nexit");
        Assert.Equal(BitOperations.RotateLeft(X, 13) + (X << 13) + 7, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void An_instruction_between_that_reads_the_temporary_sees_its_shift(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\nadd r4, r3\nlsh r1, 13\nor r1, r3\nmov r0, r1\nadd r0, r4\nexit");
        Assert.Equal(BitOperations.RotateLeft(X, 13) + (X >> 51) + 7, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void Counts_that_do_not_add_up_to_64_are_shifts_and_an_or(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 50\nlsh r1, 13\nor r1, r3\nmov r0, r1\nexit");
        Assert.Equal((X << 13) | (X >> 50), r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void A_32_bit_or_is_no_rotation(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\nlsh r1, 13\nor32 r1, r3\nmov r0, r1\nexit");
        Assert.Equal(((X << 13) | (X >> 51)) & 0xFFFF_FFFFUL, r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void A_jump_into_the_sequence_sees_the_instructions_after_its_target(string engine, bool checks)
    {
        // r2 = 1000 is not 0, so the jump skips "lsh r1, 13": r1 = x | (x >> 51).
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\njne r2, 0, +1\nlsh r1, 13\nor r1, r3\nmov r0, r1\nexit");
        Assert.Equal(X | (X >> 51), r0);
    }

    [Theory]
    [MemberData(nameof(AddressArithmeticTests.EnginesWithAndWithoutChecks), MemberType = typeof(AddressArithmeticTests))]
    public void The_temporary_read_after_a_branch_is_kept(string engine, bool checks)
    {
        ulong r0 = Run(engine, checks, "mov r3, r1\nrsh r3, 51\nlsh r1, 13\nor r1, r3\njeq r2, 0, +1\nmov r0, r3\nexit");
        Assert.Equal(X >> 51, r0);
    }

    [Fact]
    public void X64_compiles_the_sequence_to_one_rotate()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        var program = EbpfProgram.Create(
            Assembler.Assemble(Prologue + "mov r3, r1\nrsh r3, 51\nlsh r1, 13\nor r1, r3\nmov r3, 0\nmov r0, r1\nexit"), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program);
        string listing = compiled.GetListing();
        Assert.Contains("rol", listing);
        Assert.DoesNotContain("shl", listing);
    }

    private static ulong Run(string engine, bool checks, string body)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(Prologue + body), StructuralOnlyVerifier.Instance);
        var input = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(input, X);
        using var compiled = TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { MemoryChecks = checks });
        return compiled.Run(input);
    }
}
