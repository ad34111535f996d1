using System.Globalization;
using CsCheck;
using Ebpf.Assembly;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The loop family: strided loops over the input and the stack, the shapes the loop guards of the IL and x64 engines
/// compile two or three times (unchecked copies behind a guard, counting or whole-range, and the checked loop), each
/// drawn in bounds, at the edge or past it.
/// </summary>
public static partial class ProgramGenerator
{
    /// <summary>The instruction budget of a loop program: loops that never end stop there (the same way on every compilation).</summary>
    public const long LoopBudget = 4_000;

    /// <summary>
    /// Loop programs: an index register (start 0, small, near the length or near 2^64; step 1-8, negative or 0; now and
    /// then moved by a 32-bit add, which wraps) drives 1-3 reads and writes of 1-8 bytes at constant offsets (some
    /// negative) from the input or from a pointer into the stack (some past the frame's top or bottom), the index used
    /// as it is, shifted, or through a copy clang-style (<c>r3 = r9</c> after <c>r9 += step</c>, equal on entry or
    /// not); the loop ends on an index compared with the length, half of it or a constant (unsigned, signed, up or down:
    /// the trip bounds of the whole-range form), on a byte read being zero
    /// (strcmp's shape), or never (the budget stops it); some loops exit early on a byte, change their length
    /// register inside, or move their base. Inputs are 0-64 bytes.
    /// </summary>
    public static readonly Gen<GeneratedProgram> Loops = Gen.Select(Gen.Int[0, int.MaxValue], Gen.Byte.Array[0, 64], LowerLoop);

    /// <summary>Builds the loop program of <paramref name="seed"/> (see <see cref="Loops"/>) over <paramref name="input"/>.</summary>
    /// <param name="seed">Chooses every part of the loop.</param>
    /// <param name="input">The memory the program runs on.</param>
    public static GeneratedProgram LowerLoop(int seed, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var random = new Random(seed);
        var lines = new List<string> { "mov r0, 0", "mov r4, 0", "mov r5, 0", "mov r9, 0" };
        int stackOffset = Pick(random, -8, -16, -64, -256, -512, -520, 0, 8);
        lines.Add("mov r8, r10");
        lines.Add(Line("add r8, {0}", stackOffset));
        lines.Add(Pick(random, "mov r7, r2", "mov r7, r2\nrsh r7, 1", Line("mov r7, {0}", random.Next(0, 70)), "mov r7, r2\nadd r7, 1"));
        lines.Add(Pick(random, "mov r3, 0", "mov r3, 0", Line("mov r3, {0}", random.Next(-3, 9)), "mov r3, r2\nsub r3, 1", "mov r3, r2", "lddw r3, 0xfffffffffffffff0"));
        int step = Pick(random, 1, 1, 1, 2, 3, 4, 8, -1, -2, 0);
        bool copied = random.Next(4) == 0;
        if (copied)
        {
            lines.Add(random.Next(3) == 0 ? "mov r9, r3\nadd r9, 1" : "mov r9, r3");
        }

        lines.Add("loop:");
        int operations = random.Next(1, 4);
        for (int i = 0; i < operations; i++)
        {
            lines.Add(LoopOperation(random));
        }

        if (random.Next(12) == 0)
        {
            lines.Add("sub r7, 1");
        }

        if (random.Next(16) == 0)
        {
            lines.Add("add r8, 1");
        }

        string index = "r3";
        if (copied)
        {
            lines.Add(Line("add r9, {0}", step));
            lines.Add("mov r3, r9");
        }
        else
        {
            lines.Add(random.Next(10) == 0 ? Line("add32 r3, {0}", step) : Line("add r3, {0}", step));
        }

        lines.Add(Pick(
            random,
            $"jlt {index}, r7, loop",
            $"jne {index}, r7, loop",
            $"jslt {index}, r7, loop",
            $"jle {index}, r7, loop",
            $"jgt {index}, r7, loop",
            $"jsge {index}, r7, loop",
            "jne r5, 0, loop",
            "ja loop"));
        lines.Add("done:");
        lines.Add("exit");
        var slots = Assembler.Assemble(string.Join('\n', lines));
        return new GeneratedProgram(slots, input, LoopBudget);
    }

    /// <summary>One access of the loop body (it leaves what it read in r5 and adds it to r0), or an early exit.</summary>
    private static string LoopOperation(Random random)
    {
        if (random.Next(6) == 0)
        {
            return Line("jeq r5, {0}, done", random.Next(0, 4));
        }

        string baseRegister = random.Next(3) == 0 ? "r8" : "r1";
        string address = random.Next(4) switch
        {
            0 => Line("mov r4, r3\nlsh r4, {0}\nadd r4, ", random.Next(1, 4)) + baseRegister,
            1 => $"mov r4, {baseRegister}\nadd r4, r3\nadd r4, r3",
            _ => $"mov r4, {baseRegister}\nadd r4, r3",
        };
        string size = Pick(random, "b", "b", "h", "w", "dw");
        int offset = Pick(random, 0, 0, 0, 1, 2, 7, -1, -8);
        string at = offset < 0 ? Line("[r4{0}]", offset) : Line("[r4+{0}]", offset);
        return random.Next(3) switch
        {
            0 => $"{address}\nstx{size} {at}, r0",
            1 when random.Next(2) == 0 => $"{address}\nst{size} {at}, {random.Next(0, 3).ToString(CultureInfo.InvariantCulture)}",
            _ => $"{address}\nldx{size} r5, {at}\nadd r0, r5",
        };
    }

    private static T Pick<T>(Random random, params T[] choices) => choices[random.Next(choices.Length)];

    private static string Line(string format, int value) => string.Format(CultureInfo.InvariantCulture, format, value);
}
