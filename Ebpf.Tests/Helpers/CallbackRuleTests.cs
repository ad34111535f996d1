using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Helpers;

/// <summary>
/// Two rules Linux's verifier enforces on callbacks (both checked against Linux 6.18 with BPF_PROG_TEST_RUN: the
/// programs were refused at load with "R3 type=ctx expected=fp", "R3 type=map_value expected=fp", "helper access to
/// the packet is not allowed", and, for a tail call in a callback, "callback unexpected regs"): the callback's context
/// argument of bpf_loop and bpf_for_each_map_elem is a stack pointer or NULL, and a callback makes no tail call. Here a
/// run that breaks one ends with a helper error on every engine, and a kernel program that tail-calls in a callback is
/// refused at load.
/// </summary>
public class CallbackRuleTests
{
    private static ProgramEnvironment Linux()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(new ArrayMap("values", 8, 4));
        environment.AddMap(new ProgramArrayMap("jumps", 2));
        return environment;
    }

    private static ulong Run(string engine, string source, ProgramEnvironment environment)
    {
        using var compiled = TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(source)), environment);
        return compiled.Run(new byte[16]);
    }

    /// <summary>bpf_loop (or bpf_for_each_map_elem over map 0) with r3 set by <paramref name="context"/>; 1 more than the helper's result.</summary>
    private static string LoopWith(string context, bool forEach = false) => $"""
        {(forEach ? "lddw r1, map_by_idx 0" : "mov r1, 2")}
        lddw r2, code_addr callback
        {context}
        mov r4, 0
        call {(forEach ? 164 : 181)}
        add r0, 1
        exit
        callback:
        mov r0, 0
        exit
        """;

    public static TheoryData<string, string> ContextsThatAreNotStack()
    {
        var data = new TheoryData<string, string>();
        foreach (string engine in TestEngines.All.Select(e => e.Name))
        {
            data.Add(engine, "mov r3, r1");
            data.Add(engine, "lddw r3, map_value_by_idx 0");
            data.Add(engine, "mov r3, 4096");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ContextsThatAreNotStack))]
    public void A_callback_context_that_is_neither_stack_nor_null_ends_the_run(string engine, string context)
    {
        var environment = Linux();
        foreach (bool forEach in new[] { false, true })
        {
            var error = Assert.Throws<EbpfHelperException>(() => Run(engine, LoopWith(context, forEach), environment));
            Assert.Equal(forEach ? 164UL : 181UL, error.HelperId);
            Assert.Contains("neither a pointer into the stack nor NULL", error.InnerException!.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Stack_pointers_and_null_are_callback_contexts(string engine)
    {
        var environment = Linux();
        foreach (string context in new[] { "mov r3, 0", "mov r3, r10", "mov r3, r10\nadd r3, -8" })
        {
            Assert.Equal(3UL, Run(engine, LoopWith(context), environment));
            Assert.Equal(5UL, Run(engine, LoopWith(context, forEach: true), environment));
        }
    }

    private const string TailCallInCallback = """
        stxdw [r10-8], r1
        mov r1, 1
        lddw r2, code_addr callback
        mov r3, r10
        add r3, -8
        mov r4, 0
        call 181
        mov r0, 2
        exit
        callback:
        ldxdw r1, [r2]
        lddw r2, map_by_idx 1
        mov r3, 0
        call 12
        mov r0, 0
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_in_a_callback_ends_the_run(string engine)
    {
        var environment = Linux();
        var error = Assert.Throws<EbpfHelperException>(() => Run(engine, TailCallInCallback, environment));
        Assert.Equal(12UL, error.HelperId);
        Assert.Contains("inside a callback", error.InnerException!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_kernel_program_that_tail_calls_in_a_callback_is_refused_at_load(string engine)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(TailCallInCallback), StructuralOnlyVerifier.Instance, "tail_in_callback");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(program, KernelProgramType.Xdp, Linux(), TestEngines.Get(engine)));
        Assert.Contains("bpf_tail_call at pc 14, in a callback", error.Message, StringComparison.Ordinal);

        // The same program with the tail call in the main function loads.
        var outside = EbpfProgram.Create(Assembler.Assemble("""
            lddw r2, map_by_idx 1
            mov r3, 0
            call 12
            mov r0, 2
            exit
            """), StructuralOnlyVerifier.Instance, "tail_outside");
        using var loaded = KernelProgram.Load(outside, KernelProgramType.Xdp, Linux(), TestEngines.Get(engine));
        Assert.Equal(2u, loaded.TestRun(new byte[60]).ReturnValue);
    }
}
