using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Execution;

/// <summary>
/// Repeated runs (<see cref="CompiledProgram.RunRepeatedWithContext"/>) of a program that tail-calls through a known
/// program array: on x64 the code jumps to the target (X64Compiler.TailCall.cs) and the runs share one run block in the
/// engine's own loop (<c>X64CompiledProgram.RepeatLeased</c>), so each run must start as the entry program again: the
/// block naming it (a fault in the entry program after runs that ended in the target names the entry program's pc),
/// the tail-call count at 0 (more than 33 runs tail-call) and the stack cleared of what the target wrote.
/// </summary>
public sealed class RepeatedTailCallRunTests
{
    /// <summary>Where the entry program faults: 100 bytes into the 8-byte context.</summary>
    private const int FaultPc = 15;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Each_run_starts_as_the_entry_program_however_the_run_before_ended(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        using var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));

        // The entry: adds the low byte of the stack word at r10-8 (zero unless a run before left it) to context[1],
        // counts its runs in context[0], faults at pc 15 in its run number `faultAt`, else tail-calls slot 0 (1 if that
        // falls through).
        EbpfProgram Entry(int faultAt) => Program(
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.LdxDW, 8, 10, -8),
            I(OpCodes.LdxB, 9, 6, 1),
            I(OpCodes.Add64Reg, 9, 8),
            I(OpCodes.StxB, 6, 9, 1),
            I(OpCodes.LdxB, 7, 6, 0),
            I(OpCodes.Add64Imm, 7, imm: 1),
            I(OpCodes.StxB, 6, 7, 0),
            I(OpCodes.JgeImm, 7, 0, 6, faultAt),
            TailCallThroughMap0(0),
            I(OpCodes.Mov64Imm, 0, imm: 1),
            I(OpCodes.Exit),
            I(OpCodes.LdxDW, 0, 6, 100),
            I(OpCodes.Exit));

        // The target: a tail call into an empty slot (its only helper call, so x64 can enter it by a jump), then the
        // stack word at r10-8 written, 42 returned.
        using var target = TestEngines.Get(engine).Compile(
            Program(
                I(OpCodes.Mov64Reg, 6, 1),
                TailCallThroughMap0(7),
                Lddw(7, 0x5a5a5a5a5a5a5a5a),
                I(OpCodes.StxDW, 10, 7, -8),
                I(OpCodes.Mov64Imm, 0, imm: 42),
                I(OpCodes.Exit)),
            environment,
            StructuralOnly);
        programs.Set(0, target);
        using var entry = (CompiledProgram)TestEngines.Get(engine).Compile(Entry(faultAt: 60), environment, StructuralOnly);
        using var faulting = (CompiledProgram)TestEngines.Get(engine).Compile(Entry(faultAt: 40), environment, StructuralOnly);

        int hostEntered = X64CompiledProgram.HostEnteredTailCalls;
        var context = new byte[8];
        Assert.Equal(42UL, entry.RunRepeatedWithContext(new byte[8], context, 50, default));
        Assert.Equal(50, context[0]);
        Assert.Equal(0, context[1]);

        context = new byte[8];
        var e = Assert.Throws<EbpfMemoryAccessException>(() => faulting.RunRepeatedWithContext(new byte[8], context, 50, default));
        Assert.Equal(FaultPc, e.Pc);
        Assert.Equal(40, context[0]);
        Assert.Equal(0, context[1]);
        if (engine == X64Engine.EngineName)
        {
            Assert.NotEqual(0, ((CompiledProgram)target).TailCallDescriptor);
            Assert.Equal(hostEntered, X64CompiledProgram.HostEnteredTailCalls);
        }
    }
}
