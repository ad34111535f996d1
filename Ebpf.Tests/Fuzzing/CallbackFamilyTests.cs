using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// The callback family of the campaign generator: <c>bpf_loop</c> and <c>bpf_for_each_map_elem</c> with callbacks that
/// read and write through their context pointer, the key and the value, compared between engines and checked against
/// the verifier's proofs.
/// </summary>
public class CallbackFamilyTests
{
    /// <summary>
    /// Main-function seeds (see ProgramGenerator.CallbackCaller): 4120 is bpf_loop of 3 (seed / 8 % 32 = 3) with the
    /// stack context and flags 0; 4100 is bpf_for_each_map_elem over <c>values</c> with the stack context and flags 0.
    /// </summary>
    private const int LoopOfThree = 4120;

    private const int ForEachValues = 4100;

    /// <summary>Loop callback: ctx[0] += index, return 0. Map callback: ctx[8] += 1, return 0.</summary>
    private const int AddIndex = 1;

    private const int CountVisit = 401;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_and_a_walk_over_the_map_give_the_sums_worked_out_by_hand(string engine)
    {
        // ctx[0] = 5, ctx[8] = 0; bpf_loop(3): ctx[0] = 5 + 0 + 1 + 2 = 8, returns 3; for_each over 4 entries: ctx[8] = 4, returns 4
        var generated = ProgramGenerator.LowerCallbacks([LoopOfThree, ForEachValues], [AddIndex], [CountVisit], new byte[8], 5, 101);
        var program = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
        using var compiled = TestEngines.Get(engine).Compile(program, GeneratedEnvironment.Create(), GeneratedCases.OptionsFor(generated.Budget));
        Assert.Equal(3UL + 8 + 4 + 4, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Callback_programs_agree_with_the_interpreter_and_bear_out_the_verifier(string engine)
    {
        IExecutionEngine[] engines = engine == "interpreter" ? [TestEngines.Get(engine)] : [TestEngines.Get("interpreter"), TestEngines.Get(engine)];
        var result = new DifferentialCampaign(engines, GeneratedCases.Callbacks(20261202, engines[0])) { Parallelism = 2 }.Run(200);
        Assert.True(result.IsClean, string.Join("\n\n", result.Findings.Select(f => $"{f.Kind} in program {f.Index}: {f.Message}\n{f.Description}")));

        // verdicts, budgets run out inside callbacks, accesses the checks stop, and a map that cannot be iterated
        Assert.True(result.Outcomes.GetValueOrDefault("result") > 50, string.Join(", ", result.Outcomes));
        Assert.True(result.Outcomes.GetValueOrDefault("BudgetExceeded") > 5, string.Join(", ", result.Outcomes));
        Assert.True(result.Outcomes.GetValueOrDefault("MemoryAccessViolation") > 5, string.Join(", ", result.Outcomes));
        Assert.True(result.Outcomes.GetValueOrDefault("HelperFailed") > 0, string.Join(", ", result.Outcomes));
        var family = result.Verifier!.Families["callback"];
        Assert.Equal(200, family.Programs);
        Assert.True(family.Proven > 200 && family.Unknown + family.Refuted > 0 && family.StrictAccepted > 0, family.Summary);
        Assert.True(result.Verifier.ProofUsePrograms > 0, result.Verifier.ProofUseSummary);
    }

    [Fact]
    public void The_family_has_both_helpers_and_the_context_shapes_and_the_campaign_draws_it()
    {
        var generate = GeneratedCases.Callbacks(9);
        var cases = Enumerable.Range(0, 300).Select(i => generate(i)).ToList();
        bool Calls(DifferentialCase c, uint id) => c.Program.Instructions.Any(s => s.OpCode == OpCodes.Call && s.Src == 0 && s.Imm == (int)id);
        bool Has(DifferentialCase c, Func<Instruction, bool> shape) => c.Program.Instructions.Any(shape);
        Assert.All(cases, c => Assert.Equal("callback", c.Family));
        Assert.All(cases, c => Assert.NotNull(c.Options.InstructionBudget));
        Assert.All(cases, c => Assert.True(Has(c, s => s.OpCode == OpCodes.Lddw && s.Src == (byte)LddwSource.CodeAddress) || !(Calls(c, LinuxHelperIds.Loop) || Calls(c, LinuxHelperIds.ForEachMapElem))));
        Assert.Contains(cases, c => Calls(c, LinuxHelperIds.Loop));
        Assert.Contains(cases, c => Calls(c, LinuxHelperIds.ForEachMapElem));

        // the context on the stack, the input, the frame's top half, null; a count past BPF_MAX_LOOPS; flags
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Add64Imm && s.Dst == 3 && s.Imm == -16));
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Add64Imm && s.Dst == 3 && s.Imm == -8));
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Mov64Reg && s.Dst == 3 && s.Src == 6));
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Mov64Imm && s.Dst == 3 && s.Imm == 0));
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Mov64Imm && s.Dst == 1 && s.Imm == (1 << 23) + 1));
        Assert.Contains(cases, c => Has(c, s => s.OpCode == OpCodes.Mov64Imm && s.Dst == 4 && s.Imm == 1));

        // the whole campaign draws one program in eight from the family
        var campaign = GeneratedCases.For(9);
        Assert.Equal(50, Enumerable.Range(0, 400).Count(i => campaign(i).Family == "callback"));
    }
}
