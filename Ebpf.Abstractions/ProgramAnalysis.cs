using System.Collections.Immutable;
using Ebpf.Isa;
using static System.FormattableString;

namespace Ebpf;

/// <summary>The structural analysis of a program that every engine relies on (see <see cref="EbpfProgram"/>).</summary>
internal sealed class ProgramAnalysis
{
    private ProgramAnalysis(DecodedInstruction[] decoded, ImmutableArray<FunctionInfo> functions, bool[] jumpTargets, bool[] secondSlots, int[] functionOfSlot, bool[] callbacks)
    {
        Callbacks = callbacks;
        Decoded = decoded;
        Functions = functions;
        JumpTargets = jumpTargets;
        SecondSlots = secondSlots;
        FunctionOfSlot = functionOfSlot;
    }

    public DecodedInstruction[] Decoded { get; }

    public ImmutableArray<FunctionInfo> Functions { get; }

    public bool[] JumpTargets { get; }

    public bool[] SecondSlots { get; }

    public int[] FunctionOfSlot { get; }

    /// <summary>By function index: true when an <c>lddw</c> with the code-address source names the function (a callback).</summary>
    public bool[] Callbacks { get; }

    /// <summary>
    /// The slot an <c>lddw</c> with the code-address pseudo source (<c>src=4</c>, the kernel's <c>BPF_PSEUDO_FUNC</c>)
    /// names: <c>imm</c> counts from the lddw's second slot, as the kernel and libbpf count it.
    /// </summary>
    public static long CodeAddressTarget(int pc, Instruction lddw) => pc + 1L + lddw.Imm;

    public static ProgramAnalysis Analyze(ReadOnlySpan<Instruction> code)
    {
        int n = code.Length;
        if (n == 0)
        {
            throw new EbpfVerificationException("the program is empty");
        }

        if (n > EbpfProgram.MaxSlots)
        {
            throw new EbpfVerificationException($"the program has {n} slots; at most {EbpfProgram.MaxSlots} are allowed");
        }

        var decoded = InstructionDecoder.DecodeProgram(code);
        var second = new bool[n];
        var targets = new bool[n];
        var entries = new SortedSet<int> { 0 };
        var callbackStarts = new HashSet<int>();

        // Pass 1: registers written, lddw pairs (the decoder has checked opcodes, registers and operand fields).
        for (int pc = 0; pc < n; pc += decoded[pc].Length)
        {
            var insn = decoded[pc];
            if (insn.WrittenRegister == 10)
            {
                throw new EbpfVerificationException(pc, insn.Raw, "r10 is the read-only frame pointer and cannot be written");
            }

            if (insn.WriteBackRegister == 10)
            {
                throw new EbpfVerificationException(pc, insn.Raw, "r10 is the read-only frame pointer and cannot receive the fetched value");
            }

            if (insn.Length == 2)
            {
                second[pc + 1] = true;
            }
        }

        // Pass 2: jump and call targets.
        for (int pc = 0; pc < n; pc++)
        {
            if (second[pc])
            {
                continue;
            }

            var insn = code[pc];
            if (decoded[pc].IsJump)
            {
                targets[CheckTarget(code, second, pc, OpCodeTable.JumpTarget(insn, pc), "jump")] = true;
            }
            else if (decoded[pc].Operation == Operation.CallLocal)
            {
                entries.Add(CheckTarget(code, second, pc, pc + 1L + insn.Imm, "local call"));
            }
            else if (decoded[pc].PseudoSource == LddwSource.CodeAddress)
            {
                int start = CheckTarget(code, second, pc, CodeAddressTarget(pc, insn), "function address");
                entries.Add(start);
                callbackStarts.Add(start);
            }
        }

        // Functions: each entry runs to the next entry.
        var starts = entries.ToArray();
        var functions = ImmutableArray.CreateBuilder<FunctionInfo>(starts.Length);
        var functionOf = new int[n];
        var callbacks = new bool[starts.Length];
        for (int f = 0; f < starts.Length; f++)
        {
            callbacks[f] = callbackStarts.Contains(starts[f]);
            int end = f + 1 < starts.Length ? starts[f + 1] : n;
            functions.Add(new FunctionInfo(starts[f], end));
            for (int pc = starts[f]; pc < end; pc++)
            {
                functionOf[pc] = f;
            }
        }

        // Pass 3: every jump, reachable or not, stays in its function (engines index each slot's target within
        // its function, so an unreachable cross-function jump is as harmful as a reachable one).
        for (int pc = 0; pc < n; pc++)
        {
            var insn = code[pc];
            if (decoded[pc].IsJump)
            {
                int target = decoded[pc].Target;
                var function = functions[functionOf[pc]];
                if (!function.Contains(target))
                {
                    throw new EbpfVerificationException(pc, insn, Invariant($"jump target {target} is outside the function at {function.Start}..{function.End - 1}"));
                }
            }
        }

        // Pass 4: no reachable path runs off a function's end.
        foreach (var function in functions)
        {
            CheckFunction(code, decoded, function);
        }

        return new ProgramAnalysis(decoded, functions.MoveToImmutable(), targets, second, functionOf, callbacks);
    }

    private static int CheckTarget(ReadOnlySpan<Instruction> code, bool[] second, int pc, long target, string what)
    {
        if (target < 0 || target >= code.Length)
        {
            throw new EbpfVerificationException(pc, code[pc], Invariant($"{what} target {target} is outside the program (0..{code.Length - 1})"));
        }

        if (second[target])
        {
            throw new EbpfVerificationException(pc, code[pc], Invariant($"{what} target {target} is the second slot of an lddw"));
        }

        return (int)target;
    }

    private static void CheckFunction(ReadOnlySpan<Instruction> code, DecodedInstruction[] decoded, FunctionInfo function)
    {
        var seen = new bool[function.Length];
        var work = new Stack<int>();
        work.Push(function.Start);
        while (work.Count > 0)
        {
            int pc = work.Pop();
            if (seen[pc - function.Start])
            {
                continue;
            }

            seen[pc - function.Start] = true;
            var insn = code[pc];
            bool fallsThrough = decoded[pc].FallsThrough;
            if (decoded[pc].IsJump)
            {
                work.Push(decoded[pc].Target);
            }

            if (fallsThrough)
            {
                int next = pc + decoded[pc].Length;
                if (next >= function.End)
                {
                    throw new EbpfVerificationException(pc, insn, $"execution can run off the end of the function at {function.Start}..{function.End - 1} (the last reachable instruction must be exit or ja)");
                }

                work.Push(next);
            }
        }
    }
}
