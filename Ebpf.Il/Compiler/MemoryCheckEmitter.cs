using System.Reflection;
using System.Reflection.Emit;
using Ebpf.Analysis;
using Ebpf.Execution;
using Ebpf.Il.Emit;

namespace Ebpf.Il.Compiler;

/// <summary>
/// The memory checks of one function: per region (stack, context, input) and access size the limit locals the
/// prologue computes, the inline comparison at each access, and the cold path after the body that tries every other
/// region before throwing the violation.
/// </summary>
internal sealed class MemoryCheckEmitter
{
    /// <summary>
    /// The most entries of the environment's region table the cold path checks without a loop. A program is compiled
    /// for runs with at most as many regions as its environment had (up to this number), with no loop at all: a loop
    /// on the cold path costs compile time and takes registers from the hot code. Only when a run has more regions is
    /// it compiled once more, checking this many inline and looping over the rest.
    /// </summary>
    public const int MaxUnrolledRegions = 4;

    private static readonly int[] AccessSizes = [1, 2, 4, 8];

    private readonly FunctionCompiler f;
    private readonly LocalBuilder?[,] limits = new LocalBuilder?[3, 9];
    private LocalBuilder? contextBase;
    private LocalBuilder? regionPointer;
    private LocalBuilder? regionIndex;

    /// <summary>
    /// The instructions of the function that lie between a backward jump's target and the jump (the loops, as clang
    /// lays them out); empty when the function has no backward jump.
    /// </summary>
    private readonly List<(int First, int Last)> loopRanges = new();

    /// <summary>The checks outside every loop of a function with loops (noted by <see cref="Declare"/>).</summary>
    private readonly List<(int Pc, AccessRegion Region, int Size)> outsideLoops = new();

    /// <summary>The checks that compute their base and limit where they are (see <see cref="ComputesInPlace"/>).</summary>
    private readonly HashSet<int> inPlace = new();

    public MemoryCheckEmitter(FunctionCompiler function)
    {
        f = function;
        var decoded = f.Owner.Program.Decoded;
        for (int pc = f.Function.Start; pc < f.Function.End; pc++)
        {
            var insn = decoded[pc];
            if (insn.IsJump && insn.Target <= pc)
            {
                loopRanges.Add((insn.Target, pc));
            }
        }
    }

    private IlEmitter Il => f.Il;

    /// <summary>
    /// Notes a checked access of <paramref name="size"/> bytes at <paramref name="pc"/> (before the prologue is emitted):
    /// a check inside a loop (or in a function without loops) compares against a limit local the prologue sets; the
    /// prologue decides for the others (see <see cref="ComputesInPlace"/>).
    /// </summary>
    public void Declare(int pc, int size)
    {
        var region = f.Owner.Plan.RegionOf(pc);
        if (loopRanges.Count == 0 || InLoop(pc))
        {
            DeclareLimit(region, size);
        }
        else
        {
            outsideLoops.Add((pc, region, size));
        }
    }

    /// <summary>
    /// True when the check at <paramref name="pc"/> computes its region's base and limit where it is (decided by
    /// <see cref="EmitPrologue"/>): in a function with loops, a check outside every loop whose limit no check inside a
    /// loop shares. It runs about once per run, and a limit the prologue computed for it alone would stay in a register,
    /// or on the stack, across the loops; it also changed the code in front of a loop and so where RyuJIT placed the
    /// loop: il's checked memcpy_1m, whose one unproven access follows its proven loop, ran 1.6x slower than the
    /// unchecked method in the processes where that put the loop across a 64-byte line.
    /// </summary>
    public bool ComputesInPlace(int pc) => inPlace.Contains(pc);

    private bool InLoop(int pc)
    {
        foreach (var (first, last) in loopRanges)
        {
            if (pc >= first && pc <= last)
            {
                return true;
            }
        }

        // A guarded loop's accesses use the prologue's limits in the guard, wherever the loop's blocks lie.
        foreach (var loop in f.Owner.Plan.Loops.Loops)
        {
            if (loop.Contains(pc))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Notes an access checked against the input alone (legacy packet loads).</summary>
    public void DeclareInput(int size) => DeclareLimit(AccessRegion.Input, size);

    /// <summary>The limit local for input accesses of <paramref name="size"/> bytes (see <see cref="Execution.MemoryGuard.Limit"/>).</summary>
    public LocalBuilder InputLimit(int size) => limits[(int)AccessRegion.Input, size]!;

    /// <summary>The limit local of the declared checks of <paramref name="size"/> bytes against <paramref name="region"/>.</summary>
    public LocalBuilder Limit(AccessRegion region, int size) => limits[(int)region, size]!;

    /// <summary>The local holding the first byte of <paramref name="region"/> the inline checks subtract (declared with its checks).</summary>
    public LocalBuilder Base(AccessRegion region) => region switch
    {
        AccessRegion.Stack => f.StackBase,
        AccessRegion.Context => contextBase!,
        _ => f.InputBase,
    };

    /// <summary>Computes the bases and limits the declared checks compare against.</summary>
    public void EmitPrologue()
    {
        foreach (var (pc, region, size) in outsideLoops)
        {
            if (limits[(int)region, size] is null)
            {
                inPlace.Add(pc);
            }
        }

        if (limits[(int)AccessRegion.Stack, 1] is not null || limits[(int)AccessRegion.Stack, 2] is not null
            || limits[(int)AccessRegion.Stack, 4] is not null || limits[(int)AccessRegion.Stack, 8] is not null)
        {
            f.PushStackLow();
            Il.Stloc(f.StackBase);
        }

        if (contextBase is not null)
        {
            PushBase(AccessRegion.Context);
            Il.Stloc(contextBase);
        }

        foreach (int size in AccessSizes)
        {
            foreach (var region in (ReadOnlySpan<AccessRegion>)[AccessRegion.Stack, AccessRegion.Input, AccessRegion.Context])
            {
                if (limits[(int)region, size] is { } limit)
                {
                    PushLimit(region, size, stackLowInLocal: true);
                    Il.Stloc(limit);
                }
            }
        }
    }

    /// <summary>
    /// Checks <c>[Address, Address + size)</c> unless memory checks are off. The hot path is one inline comparison,
    /// against the region the address lies in by the safety analysis, or most likely lies in (see <see cref="CheckPlan.RegionOf"/>). The cold path, placed
    /// after the body, tries every region in IL (stack frames, input, metadata, the environment's table), so no path that continues
    /// makes a call (a call there would make RyuJIT spill the register locals around the hot loop); only the failing
    /// end calls out, to build the interpreter's violation error at <paramref name="pc"/>, and throws.
    /// </summary>
    public void EmitCheck(int pc, int size, MemoryAccessKind access, int baseRegister, short offset)
    {
        if (!f.Options.MemoryChecks)
        {
            return;
        }

        var region = f.Owner.Plan.RegionOf(pc);
        var ok = Il.DefineLabel($"OK_{pc}");
        var slow = f.AddStub("SLOWCHECK", () =>
        {
            MemoryEmitter.PushAddress(f, baseRegister, offset);
            Il.Stloc(f.Address);
            if (f.Direct)
            {
                // The input is a direct entry's only memory, and the inline check compared against it.
                EmitDirectViolation(pc, size, access);
            }
            else
            {
                EmitSlowCheck(pc, size, access, ok);
            }
        });
        MemoryEmitter.PushAddress(f, baseRegister, offset);
        if (ComputesInPlace(pc))
        {
            PushBase(region);
            Il.Sub();
            PushLimit(region, size, stackLowInLocal: false);
        }
        else
        {
            Il.Ldloc(Base(region));
            Il.Sub();
            Il.Ldloc(limits[(int)region, size]!);
        }

        Il.BgeUn(slow);
        Il.MarkLabel(ok);
    }

    /// <summary>Pushes the first byte of <paramref name="region"/> (what the prologue stores in <see cref="Base"/>, or a check computing in place uses).</summary>
    private void PushBase(AccessRegion region)
    {
        switch (region)
        {
            case AccessRegion.Stack:
                f.PushStackLow();
                break;
            case AccessRegion.Context:
                f.PushRunField(RuntimeMembers.StateContextAddress);
                break;
            default:
                f.PushRunField(RuntimeMembers.StateInputAddress);
                break;
        }
    }

    /// <summary>
    /// Pushes the limit of <paramref name="size"/>-byte accesses to <paramref name="region"/> (an access passes when its
    /// offset from the region's base is below it), taking the frame's lowest byte from <see cref="FunctionCompiler.StackBase"/>
    /// when <paramref name="stackLowInLocal"/> (the prologue has set it), else recomputing it.
    /// </summary>
    private void PushLimit(AccessRegion region, int size, bool stackLowInLocal)
    {
        switch (region)
        {
            case AccessRegion.Stack:
                // The frames [stackLow, StackEnd) are at least one frame long, so the limit never underflows.
                Il.Ldarg(FunctionCompiler.ArgState);
                Il.Ldfld(RuntimeMembers.StateStackEnd);
                if (stackLowInLocal)
                {
                    Il.Ldloc(f.StackBase);
                }
                else
                {
                    f.PushStackLow();
                }

                Il.Sub();
                Il.LdcI8(size - 1);
                Il.Sub();
                break;
            case AccessRegion.Context:
                f.PushRunField(RuntimeMembers.StateContextLength);
                Il.LdcI4(size);
                Il.Call(RuntimeMembers.Limit);
                break;
            default:
                f.PushRunField(RuntimeMembers.StateInputLength);
                Il.LdcI4(size);
                Il.Call(RuntimeMembers.Limit);
                break;
        }
    }

    /// <summary>The cold half of <see cref="EmitCheck"/>: the metadata, then a loop over the region table, then the error.</summary>
    private void EmitSlowCheck(int pc, int size, MemoryAccessKind access, Label ok)
    {
        var regions = Il.DefineLabel($"REGIONS_{pc}");
        var region = regionPointer ??= Il.DeclareLocal(typeof(nint), "region");
        var fail = Il.DefineLabel($"VIOLATION_{pc}");
        var metadata = Il.DefineLabel($"METADATA_{pc}");

        // stack frames [stackLow, StackEnd), never shorter than the access: address - stackLow <= (StackEnd - stackLow) - size
        Il.Ldloc(f.Address);
        f.PushStackLow();
        Il.Sub();
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(RuntimeMembers.StateStackEnd);
        f.PushStackLow();
        Il.Sub();
        Il.LdcI8(size);
        Il.Sub();
        Il.BleUn(ok);

        EmitStateRangeTest(RuntimeMembers.StateInputAddress, RuntimeMembers.StateInputLength, size, ok, metadata);
        Il.MarkLabel(metadata);
        EmitStateRangeTest(RuntimeMembers.StateMetadataAddress, RuntimeMembers.StateMetadataLength, size, ok, regions);

        // The environment's first regions, unrolled: RyuJIT weighs a loop as hot and would give it the registers the
        // eBPF registers need (a call would be worse: everything live across it would be spilled), so only a table
        // longer than that reaches the loop below, placed behind enough branches to look cold.
        Il.MarkLabel(regions);
        int unrolled = f.Owner.InlineRegions ?? MaxUnrolledRegions;
        for (int i = 0; i < unrolled; i++)
        {
            var next = Il.DefineLabel($"REGION{i}_{pc}_NEXT");
            Il.Ldarg(FunctionCompiler.ArgState);
            Il.Ldfld(RuntimeMembers.StateRegionCount);
            Il.LdcI4(i);
            Il.Ble(fail);
            Il.Ldarg(FunctionCompiler.ArgState);
            Il.Ldfld(RuntimeMembers.StateRegions);
            if (i != 0)
            {
                Il.LdcI4(i * MemoryRegionLayout.Size);
                Il.Add();
            }

            Il.Stloc(region);
            EmitRegionTest(region, size, access, ok, next);
            Il.MarkLabel(next);
        }

        if (f.Owner.InlineRegions is not null)
        {
            // Compiled for runs with at most that many regions: all were checked above.
            Il.MarkLabel(fail);
            EmitViolation(pc, size, access);
            return;
        }

        // for (i = MaxUnrolledRegions; i < RegionCount; i++) if (Regions[i] allows the access) goto ok;
        var index = regionIndex ??= Il.DeclareLocal(typeof(int), "regionIndex");
        var loop = Il.DefineLabel($"REGIONLOOP_{pc}");
        var loopNext = Il.DefineLabel($"REGIONLOOP_{pc}_NEXT");
        Il.LdcI4(MaxUnrolledRegions);
        Il.Stloc(index);
        Il.MarkLabel(loop);
        Il.Ldloc(index);
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(RuntimeMembers.StateRegionCount);
        Il.Bge(fail);
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(RuntimeMembers.StateRegions);
        Il.Ldloc(index);
        Il.ConvI();
        Il.LdcI4(MemoryRegionLayout.Size);
        Il.ConvI();
        Il.Mul();
        Il.Add();
        Il.Stloc(region);
        EmitRegionTest(region, size, access, ok, loopNext);
        Il.MarkLabel(loopNext);
        Il.Ldloc(index);
        Il.LdcI4(1);
        Il.Add();
        Il.Stloc(index);
        Il.Br(loop);

        Il.MarkLabel(fail);
        EmitViolation(pc, size, access);
    }

    /// <summary>Builds the interpreter's violation error for the access at <paramref name="pc"/> and throws it.</summary>
    private void EmitViolation(int pc, int size, MemoryAccessKind access)
    {
        Il.Ldarg(FunctionCompiler.ArgClosure);
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldloc(f.Address);
        Il.LdcI4(size);
        Il.LdcI4((int)access);
        f.PushStackLow();
        Il.LdcI4(pc);
        Il.Call(RuntimeMembers.Violation);
        Il.Throw();
    }

    /// <summary>Builds the plain run's violation error for the access at <paramref name="pc"/> of a direct entry and throws it.</summary>
    private void EmitDirectViolation(int pc, int size, MemoryAccessKind access)
    {
        Il.Ldarg(FunctionCompiler.ArgClosure);
        Il.Ldloc(f.Address);
        Il.LdcI4(size);
        Il.LdcI4((int)access);
        Il.Ldarg(FunctionCompiler.ArgR1);
        Il.Ldarg(FunctionCompiler.ArgR2);
        Il.LdcI4(pc);
        Il.Call(RuntimeMembers.DirectViolation);
        Il.Throw();
    }

    /// <summary>
    /// Branches to <paramref name="ok"/> when the access lies in the run-state range <paramref name="start"/> /
    /// <paramref name="length"/> (input or metadata): length &gt;= size and address - start &lt;= length - size; else
    /// continues, or branches to <paramref name="tooShort"/> when the range cannot hold the access at all.
    /// </summary>
    private void EmitStateRangeTest(FieldInfo start, FieldInfo length, int size, Label ok, Label tooShort)
    {
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(length);
        Il.LdcI8(size);
        Il.BltUn(tooShort);
        Il.Ldloc(f.Address);
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(start);
        Il.Sub();
        Il.Ldarg(FunctionCompiler.ArgState);
        Il.Ldfld(length);
        Il.LdcI8(size);
        Il.Sub();
        Il.BleUn(ok);
    }

    /// <summary>Branches to <paramref name="ok"/> when the region at <paramref name="region"/> allows the access, else to <paramref name="next"/>.</summary>
    private void EmitRegionTest(LocalBuilder region, int size, MemoryAccessKind access, Label ok, Label next)
    {
        // length >= size && address - start <= length - size (&& writable, for writes)
        LoadRegionField(region, MemoryRegionLayout.LengthOffset, 8);
        Il.LdcI8(size);
        Il.BltUn(next);
        Il.Ldloc(f.Address);
        LoadRegionField(region, MemoryRegionLayout.AddressOffset, 8);
        Il.Sub();
        LoadRegionField(region, MemoryRegionLayout.LengthOffset, 8);
        Il.LdcI8(size);
        Il.Sub();
        Il.BgtUn(next);
        if (access == MemoryAccessKind.Read)
        {
            Il.Br(ok);
        }
        else
        {
            LoadRegionField(region, MemoryRegionLayout.WritableOffset, 4);
            Il.Brtrue(ok);
            Il.Br(next);
        }
    }

    /// <summary>Pushes the <paramref name="size"/>-byte field at <paramref name="offset"/> of the table entry <paramref name="region"/> points at.</summary>
    private void LoadRegionField(LocalBuilder region, int offset, int size)
    {
        Il.Ldloc(region);
        if (offset != 0)
        {
            Il.LdcI4(offset);
            Il.Add();
        }

        Il.LdindUnaligned(size, signed: false);
    }

    private void DeclareLimit(AccessRegion region, int size)
    {
        limits[(int)region, size] ??= Il.DeclareLocal(typeof(ulong), $"{region.ToString().ToLowerInvariant()}Limit{size}");
        if (region == AccessRegion.Context)
        {
            contextBase ??= Il.DeclareLocal(typeof(ulong), "contextBase");
        }
    }
}
