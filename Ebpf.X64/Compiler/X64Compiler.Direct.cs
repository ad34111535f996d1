using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.X64.Abi;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// The direct body: a second translation of a program that qualifies for the direct entry (see
/// <c>Ebpf.Execution.DirectEntry</c>), a native function <c>(ulong r1, ulong r2) -&gt; (ulong r0, ulong fault)</c>
/// entered with its arguments in the host registers of r1 and r2. It has no run block: a qualifying program calls
/// nothing, never jumps backward, cannot run out of its budget and uses r10 only as the base of accesses at constant
/// offsets inside its frame, so the only things a run needs besides its registers are the input, [r1, r1 + r2), and,
/// when it names r10, a frame of <c>DirectEntry.FrameBytes</c> bytes, which the body allocates zeroed on the native
/// stack below its saved registers (rbp, r10's host register, is its top) and drops on return. The input start and, for each access size the program checks, the input limit
/// (r2 - size + 1, or 0 when the input is shorter) are held for the whole run in registers the program leaves free
/// (slots on the native stack when too few are free), so a check is a subtraction and one compare with no memory
/// operand, or a single compare of the limit with a constant for an access at a constant offset from an r1 the program
/// never changes. A failed check returns the faulting address in rax and the packed site plus one in rdx (the run is
/// over: a direct run has no stack, metadata or region to look at on a slow path); an exit returns r0 and a zero fault,
/// so the common path writes no memory. The prologue saves only the callee-saved registers the body changes.
/// </summary>
internal sealed partial class X64Compiler
{
    /// <summary>True when this compiler emits a direct body (see the class summary of this file).</summary>
    private readonly bool directBody;

    /// <summary>Where the direct body holds the input start.</summary>
    private DirectValue directStart;

    /// <summary>By log2 of the access size: where the direct body holds the input limit of that size (unset when no checked access has it).</summary>
    private readonly DirectValue[] directLimits = new DirectValue[4];

    /// <summary>The host registers the direct body changes besides r0-r5 and the scratch registers (the prologue saves the callee-saved ones).</summary>
    private readonly HashSet<Register> directWritten = [];

    /// <summary>The 8-byte slots on the native stack that hold the values no free register could take.</summary>
    private int directSlots;

    /// <summary>The bytes of the direct body's frame on the native stack (see <c>DirectEntry.FrameBytes</c>); 0 when the program names no r10.</summary>
    private int directFrame;

    /// <summary>The direct body's return after a failed check (rax and rdx set).</summary>
    private Label directFault;

    /// <summary>
    /// Compiles <paramref name="program"/> as <see cref="Compile"/>
    /// does and, with the same check plan (one safety analysis), its direct body; the body is null when the program has
    /// a shape the direct body does not take (see <see cref="TakesDirectBody"/>). Only for programs that qualify for the
    /// direct entry.
    /// </summary>
    /// <exception cref="EbpfCompilationException">An instruction cannot be translated (e.g. an unknown helper id).</exception>
    /// <exception cref="EbpfVerificationException">The verification <paramref name="options"/> ask for refuses the program (see <see cref="CheckPlan.Create"/>).</exception>
    public static (CompiledCode Code, DirectCode? Direct) CompileWithDirect(
        EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, HelperPlan helpers, INativeAbi abi, ulong dispatcher,
        HelperReturnPlan? returnPlan, bool loops = false)
    {
        var plan = CheckPlan.Create(program, environment, options);
        var code = CompileWith(program, environment, options, plan, helpers, abi, dispatcher, returnPlan);
        if (!TakesDirectBody(program, options, loops))
        {
            return (code, null);
        }

        var body = new X64Compiler(program, environment, options, plan, helpers, abi, dispatcher, returnPlan: null, directBody: true).Run();
        if (HoistedInputExtent(program, plan, options) is not { } extent)
        {
            return (code, new DirectCode(body.Code, body.PcOffsets));
        }

        var withoutChecks = new X64Compiler(program, environment, options with { MemoryChecks = false }, plan, helpers, abi, dispatcher, returnPlan: null, directBody: true).Run();
        return (code, WithHoistedCheck(extent, withoutChecks, body));
    }

    /// <summary>The length of the hoisted check's machine code (see <see cref="WithHoistedCheck"/>).</summary>
    private const int HoistedCheckLength = 13;

    /// <summary>
    /// The input length from which every check of the direct body of <paramref name="program"/> passes, whatever path a
    /// run takes, or null when there is no such length (or nothing is checked). It exists when every access the body
    /// checks (<paramref name="plan"/> does not prove it) is at a constant offset of zero or more from r1 and no
    /// instruction writes r1: r1 is then the input start at every access, and the body's check of such an access, which
    /// compares its offset with the input limit of its size, passes exactly when offset + size &lt;= r2, the input length
    /// (see <see cref="EmitDirectCheck"/>). So an input at least as long as the largest offset + size passes every check
    /// of every path, and a shorter one fails at least one. (r1 is 0 only for an empty input, which no extent of one
    /// byte or more admits.)
    /// </summary>
    private static long? HoistedInputExtent(EbpfProgram program, CheckPlan plan, ExecutionOptions options)
    {
        if (!options.MemoryChecks)
        {
            return null;
        }

        long extent = 0;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (insn.Operation != Operation.None && (insn.WrittenRegister == 1 || insn.WriteBackRegister == 1))
            {
                return null;
            }

            if (!insn.IsMemoryAccess || plan.IsProven(pc))
            {
                continue;
            }

            if (insn.BaseRegister != 1 || insn.Offset < 0)
            {
                return null;
            }

            extent = Math.Max(extent, insn.Offset + (long)insn.AccessSize);
        }

        return extent > 0 ? extent : null;
    }

    /// <summary>
    /// The direct body with its checks hoisted to the entry: <c>cmp rsi, extent</c> (r2, the input length, in its host
    /// register) and <c>jb</c> to <paramref name="checkedBody"/>, the body with every check, which a shorter input runs
    /// to report the first failing access as it always did; otherwise <paramref name="uncheckedBody"/> (the same
    /// program compiled without memory checks) follows, since no check of any of its paths could fail (see
    /// <see cref="HoistedInputExtent"/>). Encoded by hand, so that its length is fixed (<see cref="HoistedCheckLength"/>
    /// bytes, the jump in its 32-bit form); the listing decodes it. The pc offsets are those of the unchecked body.
    /// </summary>
    private static DirectCode WithHoistedCheck(long extent, CompiledCode uncheckedBody, CompiledCode checkedBody)
    {
        var code = new byte[HoistedCheckLength + uncheckedBody.Code.Length + checkedBody.Code.Length];
        ReadOnlySpan<byte> compare = [0x48, 0x81, 0xFE];  // cmp rsi, imm32
        ReadOnlySpan<byte> below = [0x0F, 0x82];          // jb rel32
        compare.CopyTo(code);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(3), checked((int)extent));
        below.CopyTo(code.AsSpan(7));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(9), uncheckedBody.Code.Length);
        uncheckedBody.Code.CopyTo(code, HoistedCheckLength);
        checkedBody.Code.CopyTo(code, HoistedCheckLength + uncheckedBody.Code.Length);
        int[] offsets = [.. uncheckedBody.PcOffsets.Select(offset => offset < 0 ? offset : offset + HoistedCheckLength)];
        return new DirectCode(code, offsets);
    }

    /// <summary>
    /// True when the direct body can translate <paramref name="program"/>: one function that names no r10 or uses it
    /// only as the base of accesses inside a frame the body allocates (<c>DirectEntry.FrameBytes</c>), calls
    /// nothing, reads no packet with the legacy loads and never jumps backward (everything that would need the run
    /// block), or, with <paramref name="loops"/>, jumps backward, writes no memory and names no r10 (the restartable direct entry of
    /// <c>DirectEntry.QualifiesWithLoops</c>, whose body counts its backward jumps, see <see cref="EmitDirectStep"/>).
    /// Every program that qualifies for the direct entry has this shape; this is the compiler's own guard.
    /// </summary>
    private static bool TakesDirectBody(EbpfProgram program, ExecutionOptions options, bool loops)
    {
        if (program.Functions.Length != 1 || program.IsCallback(0))
        {
            return false;
        }

        // r10 only as the base of accesses inside a frame the body can allocate (never in a body with loops).
        bool frame = !loops && Execution.DirectEntry.FrameBytes(program, options) > 0;
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            var insn = code[pc];
            if (((insn.Dst == 10 || (insn.Src == 10 && insn.Operation != Operation.Lddw)) && !frame) || insn.IsPacketLoad
                || insn.Operation is Operation.CallHelper or Operation.CallX or Operation.CallLocal
                || (insn.IsJump && insn.Target <= pc && !loops)
                || (loops && (insn.IsAtomic || insn.Operation == Operation.Store)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The direct body's entry: places the input start and the limits (see <see cref="PlaceDirectValues"/>), saves what
    /// the body changes of the callee-saved registers, zeroes the registers that may be read before they are written
    /// (as <see cref="EmitEntry"/> does), then sets the start and the limits from r1 and r2. The body follows.
    /// </summary>
    private void EmitDirectEntry()
    {
        directFault = a.CreateLabel("direct_fault");
        directRestart = a.CreateLabel("direct_restart");
        PlaceDirectValues();
        abi.EmitDirectPrologue(a, directWritten);
        if (directFrame > 0)
        {
            EmitDirectFrame();
        }

        if (directSlots > 0)
        {
            a.sub(rsp, 8 * directSlots);
        }

        EmitZeroes();
        if (directFrame > 0)
        {
            // r10: the frame's top, above the slots.
            a.lea(R64(10), __[rsp + (8 * directSlots) + directFrame]);
        }
        if (directSteps.IsSet)
        {
            a.mov(new AssemblerRegister32(ToRegister32(directSteps.Host)), Execution.DirectEntry.LoopSteps);
        }

        if (directStart.IsSet && directStart.Host != R64(1).Value)
        {
            StoreDirect(directStart, R64(1));
        }

        bool zero = false;
        for (int log2 = 0; log2 < 4; log2++)
        {
            var limit = directLimits[log2];
            int size = 1 << log2;
            if (!limit.IsSet || limit.Host == R64(2).Value)
            {
                continue;
            }

            if (size == 1)
            {
                StoreDirect(limit, R64(2));
                continue;
            }

            // limit = r2 - (size - 1), or 0 when r2 < size - 1 (then no access of this size fits).
            if (!zero)
            {
                a.xor(ecx, ecx);
                zero = true;
            }

            var target = limit.Host != Register.None ? new AssemblerRegister64(limit.Host) : r11;
            a.lea(target, __[R64(2) - (size - 1)]);
            a.cmp(R64(2), size - 1);
            a.cmovb(target, rcx);
            if (limit.Host == Register.None)
            {
                StoreDirect(limit, r11);
            }
        }
    }

    /// <summary>
    /// Decides where the direct body holds its input start and limits: the start in r1's own register when no instruction
    /// writes r1, the 1-byte limit (r2 itself) in r2's when none writes r2; the others in the registers the program
    /// leaves free, the caller-saved ones first (those of unnamed r3-r5), then r12 and rbp (no run block; rbp only when the program names no r10), then
    /// those of unnamed r6-r9, the limit used by the most checks first; whatever is left over goes to stack slots.
    /// Nothing is placed when no access is checked. The named r6-r9 are changed by the body itself.
    /// </summary>
    private void PlaceDirectValues()
    {
        directFrame = Execution.DirectEntry.FrameBytes(program, options);
        if (directFrame > 0)
        {
            directWritten.Add(R64(10).Value);
        }

        foreach (int r in (ReadOnlySpan<int>)[6, 7, 8, 9])
        {
            if (named[r])
            {
                directWritten.Add(R64(r).Value);
            }
        }

        var counts = new int[4];
        var code = program.Decoded;
        for (int pc = 0; pc < code.Length; pc += code[pc].Length)
        {
            if (checks && code[pc].IsMemoryAccess && !plan.IsProven(pc))
            {
                counts[System.Numerics.BitOperations.Log2((uint)code[pc].AccessSize)]++;
            }
        }

        bool loops = HasBackwardJump(program);
        if (counts.All(count => count == 0) && !loops)
        {
            return;
        }

        var free = new Queue<Register>();
        foreach (int r in (ReadOnlySpan<int>)[3, 4, 5])
        {
            if (!named[r])
            {
                free.Enqueue(R64(r).Value);
            }
        }

        free.Enqueue(Register.R12);
        if (directFrame == 0)
        {
            free.Enqueue(R64(10).Value);
        }

        foreach (int r in (ReadOnlySpan<int>)[6, 7, 8, 9])
        {
            if (!named[r])
            {
                free.Enqueue(R64(r).Value);
            }
        }

        if (loops)
        {
            // Taken at every backward jump: the first free register (there is always one: r12 and rbp are free in
            // the direct body of a loop, which has no run block and no r10).
            directSteps = TakeDirect(free);
            if (directSteps.Host == Register.None)
            {
                throw new InvalidOperationException("no register left for the direct body's count of backward jumps");
            }
        }

        if (counts.All(count => count == 0))
        {
            return;
        }

        directStart = IsWritten(1) ? TakeDirect(free) : new DirectValue(R64(1).Value, 0);
        foreach (int log2 in Enumerable.Range(0, 4).Where(l => counts[l] > 0).OrderByDescending(l => counts[l]))
        {
            directLimits[log2] = log2 == 0 && !IsWritten(2) ? new DirectValue(R64(2).Value, 0) : TakeDirect(free);
        }
    }

    /// <summary>The next free register (marked written), or a new stack slot when none is left.</summary>
    private DirectValue TakeDirect(Queue<Register> free)
    {
        if (free.TryDequeue(out var register))
        {
            directWritten.Add(register);
            return new DirectValue(register, 0);
        }

        return new DirectValue(Register.None, directSlots++);
    }

    /// <summary>True when some instruction writes eBPF register <paramref name="r"/> (as its destination or as an atomic write-back).</summary>
    private bool IsWritten(int r) =>
        program.Decoded.Any(insn => insn.Operation != Operation.None && (insn.WrittenRegister == r || insn.WriteBackRegister == r));

    /// <summary>Moves <paramref name="value"/> into the register or slot of <paramref name="place"/>.</summary>
    private void StoreDirect(DirectValue place, AssemblerRegister64 value)
    {
        if (place.Host != Register.None)
        {
            a.mov(new AssemblerRegister64(place.Host), value);
        }
        else
        {
            a.mov(DirectSlot(place), value);
        }
    }

    /// <summary>The stack slot of <paramref name="place"/> (the native stack pointer does not move inside the body).</summary>
    private static AssemblerMemoryOperand DirectSlot(DirectValue place) => __qword_ptr[rsp + (8 * place.Slot)];

    /// <summary>An <c>exit</c> of the direct body: r0 is in rax, no fault.</summary>
    private void EmitDirectExit()
    {
        a.xor(edx, edx);
        EmitDirectLeave();
    }

    /// <summary>
    /// The direct body's return for a failed check: rax and rdx are set (see <see cref="EmitDirectCheck"/>); none without
    /// checks. Then, in a body with loops, the return when its backward jumps are spent (see <see cref="EmitDirectStep"/>).
    /// </summary>
    private void EmitDirectReturn()
    {
        if (directStart.IsSet)
        {
            Bind(ref directFault);
            EmitDirectLeave();
        }

        if (directSteps.IsSet)
        {
            Bind(ref directRestart);
            a.xor(eax, eax);
            a.mov(rdx, -1);
            EmitDirectLeave();
        }
    }

    /// <summary>Where the direct body counts its backward jumps down (unset without loops).</summary>
    private DirectValue directSteps;

    /// <summary>The direct body's return when its backward jumps are spent (see <see cref="EmitDirectStep"/>).</summary>
    private Label directRestart;

    /// <summary>
    /// Before a backward jump of the direct body: the count of backward jumps left goes down by one, and when it is
    /// spent the body returns r0 = 0 and the fault word <c>CompiledProgram.NativeDirectRestart</c> (all ones, which
    /// <c>mov rdx, -1</c> writes), on which the host runs the program again from the start on the plain path. A direct run has no run block to poll and nothing
    /// watches it: this bounds how long it runs before the host takes over (see <c>DirectEntry.QualifiesWithLoops</c>).
    /// Placed before the jump's own compare, since it changes the flags.
    /// </summary>
    private void EmitDirectStep(int pc, DecodedInstruction insn)
    {
        if (insn.Target > pc)
        {
            return;
        }

        a.sub(new AssemblerRegister32(ToRegister32(directSteps.Host)), 1);
        a.je(directRestart);
    }

    /// <summary>The 32-bit register of 64-bit <paramref name="register"/>.</summary>
    private static Register ToRegister32(Register register) => register.GetFullRegister32();

    /// <summary>
    /// Allocates the direct body's frame (<see cref="directFrame"/> bytes, a multiple of 8) on the native stack and zeroes
    /// it, 16 bytes a store where it can: a run starts on zeros, as on the plain path's stack area, and no byte of an
    /// earlier run or of the host's own frames can show through.
    /// </summary>
    private void EmitDirectFrame()
    {
        a.sub(rsp, directFrame);
        int offset = 0;
        if (directFrame >= 16)
        {
            a.xorps(xmm0, xmm0);
            for (; offset + 16 <= directFrame; offset += 16)
            {
                a.movups(__[rsp + offset], xmm0);
            }
        }

        if (offset < directFrame)
        {
            a.mov(__qword_ptr[rsp + offset], 0);
        }
    }

    private void EmitDirectLeave()
    {
        if (directSlots > 0 || directFrame > 0)
        {
            a.add(rsp, (8 * directSlots) + directFrame);
        }

        abi.EmitDirectEpilogue(a, directWritten);
    }

    /// <summary>
    /// The direct body's check of an access of <paramref name="size"/> bytes at <paramref name="address"/>: inside the
    /// input exactly when (address - input start) is below the limit of that size, unsigned (so an address before the
    /// start, or one that wrapped past 2^64, is a huge difference and fails). When the address is the unchanged r1 plus a
    /// constant, the difference is that constant, and the check is one compare of the limit with it (a negative constant
    /// is a huge unsigned one, which no limit exceeds). Changes rcx and the flags only. A failure returns the address and
    /// the packed site plus one.
    /// </summary>
    private void EmitDirectCheck(int pc, AssemblerMemoryOperand address, int size, bool write)
    {
        var fail = a.CreateLabel();
        var limit = directLimits[System.Numerics.BitOperations.Log2((uint)size)];
        if (!limit.IsSet || !directStart.IsSet)
        {
            throw new InvalidOperationException($"no input limit placed for the {size}-byte access at pc {pc}");
        }

        if (address.Base == directStart.Host && address.Index == Register.None && address.Displacement is >= int.MinValue and <= int.MaxValue)
        {
            if (limit.Host != Register.None)
            {
                a.cmp(new AssemblerRegister64(limit.Host), (int)address.Displacement);
            }
            else
            {
                a.cmp(DirectSlot(limit), (int)address.Displacement);
            }

            a.jbe(fail);
        }
        else
        {
            if (address.Index == Register.None && address.Displacement == 0)
            {
                a.mov(rcx, new AssemblerRegister64(address.Base));
            }
            else
            {
                a.lea(rcx, address);
            }

            if (directStart.Host != Register.None)
            {
                a.sub(rcx, new AssemblerRegister64(directStart.Host));
            }
            else
            {
                a.sub(rcx, DirectSlot(directStart));
            }

            if (limit.Host != Register.None)
            {
                a.cmp(rcx, new AssemblerRegister64(limit.Host));
            }
            else
            {
                a.cmp(rcx, DirectSlot(limit));
            }

            a.jae(fail);
        }

        int fault = Packed(pc, size, write) + 1;
        cold.Add(() =>
        {
            Bind(ref fail);
            a.lea(rax, address);
            a.mov(edx, fault);
            a.jmp(directFault);
        });
    }

    /// <summary>
    /// Where the direct body holds a value: a host register, or (<see cref="Register.None"/>) the stack slot
    /// <paramref name="Slot"/>; <paramref name="IsSet"/> is false only for the default (nothing placed).
    /// </summary>
    private readonly record struct DirectValue(Register Host, int Slot, bool IsSet = true);
}
