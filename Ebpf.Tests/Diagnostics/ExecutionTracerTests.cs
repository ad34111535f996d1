using Ebpf.Diagnostics;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Diagnostics;

public class ExecutionTracerTests
{
    [Fact]
    public void The_loop_traces_18_instructions_in_execution_order()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        var entries = new List<TraceEntry>();
        ulong r0 = ExecutionTracer.Run(compiled, [], entries.Add);

        Assert.Equal(15UL, r0);
        int[] expectedPcs = [0, 1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 2, 3, 4, 2, 3, 4, 5];
        Assert.Equal(expectedPcs, entries.Select(e => e.Pc));
        Assert.Equal(Enumerable.Range(0, 18).Select(i => (long)i), entries.Select(e => e.Index));
        Assert.Equal("mov64 r1, 0x5", entries[1].Text);
        Assert.Equal([new RegisterChange(1, 5)], entries[1].Changes);
        Assert.Empty(entries[0].Changes); // r0 was 0 already
        Assert.Equal([new RegisterChange(0, 5)], entries[2].Changes);
        Assert.Equal([new RegisterChange(1, 4)], entries[3].Changes);
        Assert.Empty(entries[4].Changes);
        Assert.Equal([new RegisterChange(0, 15)], entries[14].Changes);
        Assert.Equal("exit", entries[^1].Text);
        Assert.All(entries, e => Assert.Null(e.Store));
    }

    [Fact]
    public void Stores_and_atomics_report_the_address_size_and_the_value_written()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Stores);
        var entries = new List<TraceEntry>();
        ulong stackPointer = ExecutionTracer.Run(compiled, [], entries.Add);

        Assert.Equal(6, entries.Count);
        Assert.Equal(new MemoryWrite(stackPointer - 4, 4, 0x2a), entries[1].Store);
        Assert.Equal(new MemoryWrite(stackPointer - 16, 8, 5), entries[2].Store);
        Assert.Equal(new MemoryWrite(stackPointer - 16, 8, 8), entries[4].Store);
        Assert.Equal([new RegisterChange(0, stackPointer)], entries[0].Changes);
        Assert.Contains($"[0x{stackPointer - 4:x}] (4 bytes) = 0x2a", entries[1].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_run_traces_up_to_the_failing_instruction_and_rethrows()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.ReadInput);
        var entries = new List<TraceEntry>();
        var error = Assert.Throws<EbpfMemoryAccessException>(() => ExecutionTracer.Run(compiled, [], entries.Add));

        Assert.Equal(1, error.Pc);
        Assert.Equal([0, 1], entries.Select(e => e.Pc));
        Assert.Empty(entries[1].Changes);
    }

    [Fact]
    public void Json_lines_carry_pc_text_registers_and_stores()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Stores);
        var lines = new List<string>();
        ulong stackPointer = ExecutionTracer.Run(compiled, [], e => lines.Add(e.ToJson()));

        using var store = System.Text.Json.JsonDocument.Parse(lines[1]);
        var root = store.RootElement;
        Assert.Equal(1, root.GetProperty("pc").GetInt32());
        Assert.Equal("stw [r10-4], 0x2a", root.GetProperty("insn").GetString());
        Assert.Equal($"0x{stackPointer - 4:x}", root.GetProperty("store").GetProperty("address").GetString());
        Assert.Equal(4, root.GetProperty("store").GetProperty("size").GetInt32());
        Assert.Equal("0x2a", root.GetProperty("store").GetProperty("value").GetString());
        Assert.Equal("{\"index\":3,\"pc\":3,\"depth\":0,\"insn\":\"mov64 r1, 0x3\",\"regs\":{\"r1\":\"0x3\"}}", lines[3]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Only_the_interpreter_runs_observed_and_observing_does_not_change_the_result(string engine)
    {
        var program = DiagnosticPrograms.Load(DiagnosticPrograms.Loop);
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal(engine == "interpreter", compiled is IObservableProgram);
        using var observable = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        Assert.Equal(compiled.Run(), ExecutionTracer.Run(observable, [], _ => { }));
    }

    [Fact]
    public void An_observer_sees_local_calls_at_their_depth()
    {
        using var compiled = DiagnosticPrograms.Observable("mov r0, 1\ncall local +1\nexit\nadd r0, 2\nexit");
        var entries = new List<TraceEntry>();
        Assert.Equal(3UL, ExecutionTracer.Run(compiled, [], entries.Add));
        Assert.Equal([(0, 0), (1, 0), (3, 1), (4, 1), (2, 0)], entries.Select(e => (e.Pc, e.CallDepth)));
    }
}
