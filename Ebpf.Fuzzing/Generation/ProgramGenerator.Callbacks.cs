using CsCheck;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The callback family: programs that hand one of their functions to <c>bpf_loop</c> or <c>bpf_for_each_map_elem</c>
/// (an <c>lddw</c> with the code-address source), with a context pointer that is mostly 16 bytes of the caller's
/// stack and sometimes the input, a slot too close to the frame's top, or null. The callbacks read and write through
/// that pointer (and, for <c>bpf_for_each_map_elem</c>, the key and the value of <c>values</c>), use their own stack,
/// and end the iteration early or not; each access is drawn correct or off by a few bytes. Loop counts are mostly
/// small, sometimes too large for the budget or for the helper (<c>-E2BIG</c>); a few calls pass flags (<c>-EINVAL</c>)
/// or a map that cannot be iterated (a helper failure). Every program has a budget, which bounds the callbacks too.
/// </summary>
public static partial class ProgramGenerator
{
    /// <summary>Where the callback context lies on the caller's stack: 16 bytes at r10 - 16.</summary>
    private const short CallbackContext = -16;

    /// <summary>Main-function registers of a callback program: the input, then the running sum returned in r0.</summary>
    private const byte CallbackInput = 6;

    private const byte CallbackSum = 8;

    /// <summary>The placeholders of the two callbacks' addresses, patched once the functions' positions are known.</summary>
    private const int LoopCallbackMark = -1;

    private const int EachCallbackMark = -2;

    /// <summary>Loop counts: mostly small; then one the budget stops, <c>BPF_MAX_LOOPS</c> and one past it (<c>-E2BIG</c>).</summary>
    private static readonly int[] LoopCounts = [0, 1, 2, 3, 4, 5, 6, 8, 0, 1, 2, 3, 4, 5, 6, 8, 0, 1, 2, 3, 4, 5, 6, 8, 3, 4, 64, 64, 300, 1 << 23, (1 << 23) + 1, 2];

    /// <summary>
    /// Callback programs: a main function of 1-4 operations (<c>bpf_loop</c>, <c>bpf_for_each_map_elem</c>, reads of
    /// the context slots, arithmetic on the sum), a loop callback of 1-5 operations and a map callback of 1-5
    /// operations, on 8-48 bytes of input, with a budget.
    /// </summary>
    public static readonly Gen<GeneratedProgram> Callbacks = Gen.Select(
        Gen.Int[0, int.MaxValue].Array[1, 4],
        Gen.Int[0, int.MaxValue].Array[1, 5],
        Gen.Int[0, int.MaxValue].Array[1, 5],
        Gen.Byte.Array[8, 48],
        Gen.Long,
        Gen.Int[0, 3000],
        LowerCallbacks);

    /// <summary>
    /// Turns raw operation seeds into a callback program (see <see cref="Callbacks"/>): the main function, then the loop
    /// callback (<c>r1</c> = index, <c>r2</c> = context), then the map callback (<c>r1</c> = map, <c>r2</c> = key,
    /// <c>r3</c> = value, <c>r4</c> = context).
    /// </summary>
    /// <param name="main">The main function's operations, one seed each.</param>
    /// <param name="loopBody">The loop callback's operations (the last one also picks how it returns).</param>
    /// <param name="eachBody">The map callback's operations (the last one also picks how it returns).</param>
    /// <param name="input">The memory the program runs on.</param>
    /// <param name="initial">What the context slots hold before the first call.</param>
    /// <param name="budgetSeed">Picks the budget: mostly ample, one in five small enough to stop inside a callback.</param>
    internal static GeneratedProgram LowerCallbacks(int[] main, int[] loopBody, int[] eachBody, byte[] input, long initial, int budgetSeed)
    {
        ArgumentNullException.ThrowIfNull(main);
        ArgumentNullException.ThrowIfNull(loopBody);
        ArgumentNullException.ThrowIfNull(eachBody);
        ArgumentNullException.ThrowIfNull(input);
        var code = new List<Instruction>
        {
            I(OpCodes.Mov64Reg, CallbackInput, 1),
            I(OpCodes.Mov64Imm, CallbackSum),
            I(OpCodes.StDW, 10, offset: CallbackContext, imm: (int)initial),
            I(OpCodes.StDW, 10, offset: CallbackContext + 8, imm: (int)(initial >> 32)),
        };
        foreach (int seed in main)
        {
            code.AddRange(CallbackCaller(seed));
        }

        code.Add(I(OpCodes.Mov64Reg, 0, CallbackSum));
        code.Add(I(OpCodes.Exit));
        int loopCallback = code.Count;
        code.AddRange(LoopCallback(loopBody));
        int eachCallback = code.Count;
        code.AddRange(EachCallback(eachBody));
        for (int pc = 0; pc < loopCallback; pc++)
        {
            if (code[pc].OpCode == OpCodes.Lddw && code[pc].Src == (byte)LddwSource.CodeAddress)
            {
                // lddw code_addr: the function's first slot is pc + 1 + imm
                code[pc] = code[pc].WithImm((code[pc].Imm == LoopCallbackMark ? loopCallback : eachCallback) - pc - 1);
            }
        }

        long budget = budgetSeed % 5 == 0 ? 10 + (budgetSeed % 120) : 60 + (budgetSeed * 4L);
        return new GeneratedProgram(code.ToArray(), input, budget);
    }

    /// <summary>One operation of the main function: a helper that calls back, a read of a context slot, or arithmetic on the sum.</summary>
    private static Instruction[] CallbackCaller(int seed)
    {
        int flags = seed / 4096 % 16 == 0 ? 1 : 0;
        switch (seed % 8)
        {
            case < 4: // r8 += bpf_loop(count, loop_cb, ctx, flags); r8 += ctx[0]
                return CallingBack([I(OpCodes.Mov64Imm, 1, imm: Pick(LoopCounts, seed / 8))], LoopCallbackMark, seed / 256, flags, LinuxHelperIds.Loop, CallbackContext);
            case < 6: // r8 += bpf_for_each_map_elem(values (or, one in 16, the program array), each_cb, ctx, flags); r8 += ctx[8]
                return CallingBack(
                    MapSlots(1, seed / 8 % 16 == 15 ? GeneratedEnvironment.TailsMap : GeneratedEnvironment.ValuesMap), EachCallbackMark, seed / 256, flags, LinuxHelperIds.ForEachMapElem, CallbackContext + 8);
            case 6: // r8 += the context's middle four bytes
                return [I(OpCodes.LdxW, 9, 10, CallbackContext + 4), I(OpCodes.Add64Reg, CallbackSum, 9)];
            default:
                return [I(OpCodes.Mul64Imm, CallbackSum, imm: (seed / 8 % 1000) | 1), I(OpCodes.Xor64Imm, CallbackSum, imm: seed / 8)];
        }
    }

    /// <summary>
    /// A call of <paramref name="helper"/> with r1 set by <paramref name="first"/>, r2 = the callback marked
    /// <paramref name="mark"/>, r3 = the context (<see cref="CallbackContextArgument"/>) and r4 = <paramref name="flags"/>;
    /// then r8 += its result and the context slot at <paramref name="slot"/>.
    /// </summary>
    private static Instruction[] CallingBack(Instruction[] first, int mark, int context, int flags, uint helper, short slot) =>
    [
        .. first,
        new(OpCodes.Lddw, 2, (byte)LddwSource.CodeAddress, 0, mark),
        new(0, 0, 0, 0, 0),
        .. CallbackContextArgument(context),
        I(OpCodes.Mov64Imm, 4, imm: flags),
        I(OpCodes.Call, imm: (int)helper),
        I(OpCodes.Add64Reg, CallbackSum, 0),
        I(OpCodes.LdxDW, 9, 10, slot),
        I(OpCodes.Add64Reg, CallbackSum, 9),
    ];

    /// <summary>r3 = the callback context: mostly the 16 stack bytes; sometimes the input, the upper 8 bytes only (so 16-byte reaches leave the frame), or null.</summary>
    private static Instruction[] CallbackContextArgument(int choice) => (choice % 16) switch
    {
        12 => [I(OpCodes.Mov64Reg, 3, CallbackInput)],
        13 => [I(OpCodes.Mov64Reg, 3, 10), I(OpCodes.Add64Imm, 3, imm: CallbackContext + 8)],
        14 => [I(OpCodes.Mov64Imm, 3)],
        _ => [I(OpCodes.Mov64Reg, 3, 10), I(OpCodes.Add64Imm, 3, imm: CallbackContext)],
    };

    /// <summary>A few bytes past the intended reach, one time in eight.</summary>
    private static int CallbackSlack(int seed) => seed / 400 % 8 == 0 ? 1 + (seed / 3200 % 8) : 0;

    /// <summary>
    /// The loop callback: r4 accumulates; operations read the context, add the index to its first slot, store into it,
    /// add atomically, or go through the callback's own stack; then r0 = 0 (go on), 1 after index k, r4 &amp; 1, or r4.
    /// </summary>
    private static List<Instruction> LoopCallback(int[] body)
    {
        var code = new List<Instruction> { I(OpCodes.Mov64Imm, 4) };
        foreach (int seed in body)
        {
            int sizeIndex = seed / 6 % 4;
            int size = Sizes[sizeIndex];
            short offset = (short)((seed / 24 % (17 - size)) + CallbackSlack(seed));
            code.AddRange((seed % 6) switch
            {
                0 => [I((byte)(0x61 | SizeBits[sizeIndex]), 5, 2, offset), I(OpCodes.Add64Reg, 4, 5)],
                1 => [I(OpCodes.LdxDW, 5, 2), I(OpCodes.Add64Reg, 5, 1), I(OpCodes.StxDW, 2, 5)],
                2 => [I((byte)(0x62 | SizeBits[sizeIndex]), 2, 0, offset, seed / 7)],
                3 => [I(seed / 6 % 2 == 0 ? OpCodes.AtomicDW : OpCodes.AtomicW, 2, 1, (short)((seed / 12 % 2 * 8) + CallbackSlack(seed)), (int)(seed / 24 % 2 == 0 ? AtomicOperation.Add : AtomicOperation.FetchAdd))],
                4 => [I(OpCodes.StxDW, 10, 1, -8), I(OpCodes.LdxDW, 5, 10, -8), I(OpCodes.Add64Reg, 4, 5)],
                _ => (Instruction[])[I(OpCodes.Mul64Imm, 4, imm: 3), I(OpCodes.Add64Reg, 4, 1)],
            });
        }

        int last = body.Length == 0 ? 0 : body[^1];
        code.AddRange((last / 50 % 4) switch
        {
            0 => [I(OpCodes.Mov64Imm, 0)],
            1 => [I(OpCodes.Mov64Imm, 0), I(OpCodes.JltImm, 1, offset: 1, imm: last / 200 % 6), I(OpCodes.Mov64Imm, 0, imm: 1)],
            2 => [I(OpCodes.Mov64Reg, 0, 4), I(OpCodes.And64Imm, 0, imm: 1)],
            _ => (Instruction[])[I(OpCodes.Mov64Reg, 0, 4)],
        });
        code.Add(I(OpCodes.Exit));
        return code;
    }

    /// <summary>
    /// The map callback: operations read the key, read the value (or write back what they read), add into the
    /// context's first slot, store into its second, or (one in 24) write the read-only key; then r0 = 0 (go on) or 1
    /// from key k on.
    /// </summary>
    private static List<Instruction> EachCallback(int[] body)
    {
        Instruction[] AddToContext(byte register) => [I(OpCodes.LdxDW, 0, 4), I(OpCodes.Add64Reg, 0, register), I(OpCodes.StxDW, 4, 0)];
        var code = new List<Instruction>();
        foreach (int seed in body)
        {
            int sizeIndex = seed / 6 % 4;
            int size = Sizes[sizeIndex];
            int slack = CallbackSlack(seed);
            short offset = (short)((seed / 24 % (GeneratedEnvironment.ValueSize + 1 - size)) + slack);
            byte load = (byte)(0x61 | SizeBits[sizeIndex]);
            code.AddRange((seed % 6) switch
            {
                0 => [I(OpCodes.LdxW, 5, 2, (short)slack), .. AddToContext(5)],
                1 => [I(load, 5, 3, offset), .. AddToContext(5)],
                2 => [I(load, 5, 3, offset), I((byte)(0x63 | SizeBits[sizeIndex]), 3, 5, offset)],
                3 when seed / 6 % 4 == 0 => [I(OpCodes.StW, 2, imm: seed / 24)],
                3 => [I(OpCodes.LdxW, 5, 2), I(OpCodes.Mul64Imm, 5, imm: 1000), .. AddToContext(5)],
                4 => [I(OpCodes.StW, 4, offset: (short)(8 + slack), imm: seed / 24)],
                _ => (Instruction[])[I(OpCodes.LdxDW, 5, 4, (short)(8 + slack)), I(OpCodes.Add64Imm, 5, imm: 1), I(OpCodes.StxDW, 4, 5, (short)(8 + slack))],
            });
        }

        int last = body.Length == 0 ? 0 : body[^1];
        code.AddRange(last / 50 % 2 == 0
            ? [I(OpCodes.Mov64Imm, 0)]
            : (Instruction[])[I(OpCodes.LdxW, 5, 2), I(OpCodes.Mov64Imm, 0), I(OpCodes.JltImm, 5, offset: 1, imm: last / 100 % 5), I(OpCodes.Mov64Imm, 0, imm: 1)]);
        code.Add(I(OpCodes.Exit));
        return code;
    }
}
