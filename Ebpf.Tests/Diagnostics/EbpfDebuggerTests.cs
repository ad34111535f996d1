using Ebpf.Diagnostics;

namespace Ebpf.Tests.Diagnostics;

public class EbpfDebuggerTests
{
    [Fact]
    public void Stepping_through_the_loop_takes_18_steps()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        using var debugger = new EbpfDebugger(compiled);
        Assert.Equal(DebugState.Paused, debugger.Start([]));
        Assert.Equal(0, debugger.Pc);

        int steps = 0;
        while (debugger.Step() == DebugState.Paused)
        {
            steps++;
        }

        Assert.Equal(17, steps); // the 18th step executes exit and completes the run
        Assert.Equal(DebugState.Completed, debugger.State);
        Assert.Equal(15UL, debugger.Result);
        Assert.Equal(18, debugger.InstructionsExecuted);
    }

    [Fact]
    public void Breakpoints_stop_every_time_and_registers_can_be_changed()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        using var debugger = new EbpfDebugger(compiled);
        debugger.AddBreakpoint(2);
        debugger.Start([]);

        Assert.Equal(DebugState.Paused, debugger.Continue());
        Assert.Equal((2, 0UL, 5UL, 2L), (debugger.Pc, debugger.GetRegister(0), debugger.GetRegister(1), debugger.InstructionsExecuted));
        Assert.Equal("add64 r0, r1", debugger.Instruction.ToString());

        debugger.Continue();
        Assert.Equal((2, 5UL, 4UL, 5L), (debugger.Pc, debugger.GetRegister(0), debugger.GetRegister(1), debugger.InstructionsExecuted));

        // r1 = 1: this pass adds 1 and ends the loop: 5 + 1 = 6 after pcs 2, 3, 4 and 5.
        debugger.SetRegister(1, 1);
        Assert.Equal(1UL, debugger.Registers[1]);
        Assert.True(debugger.RemoveBreakpoint(2));
        Assert.Equal(DebugState.Completed, debugger.Continue());
        Assert.Equal(6UL, debugger.Result);
        Assert.Equal(9, debugger.InstructionsExecuted);
    }

    [Fact]
    public void Memory_can_be_read_and_written_while_paused()
    {
        using var compiled = DiagnosticPrograms.Observable("stdw [r10-8], 7\nldxdw r0, [r10-8]\nexit");
        using var debugger = new EbpfDebugger(compiled);
        debugger.AddBreakpoint(1);
        debugger.Start([]);
        debugger.Continue();

        ulong slot = debugger.GetRegister(10) - 8;
        Assert.Equal(new byte[] { 7, 0, 0, 0, 0, 0, 0, 0 }, debugger.ReadMemory(slot, 8));
        debugger.WriteMemory(slot, [9]);
        Assert.Equal(DebugState.Completed, debugger.Continue());
        Assert.Equal(9UL, debugger.Result);
    }

    [Fact]
    public void The_input_memory_is_visible_and_changes_reach_the_callers_array()
    {
        byte[] memory = [1, 2, 3, 4];
        using var compiled = DiagnosticPrograms.Observable("ldxb r0, [r1+3]\nexit");
        using var debugger = new EbpfDebugger(compiled);
        debugger.Start(memory);
        ulong input = debugger.GetRegister(1);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, debugger.ReadMemory(input, 4));
        debugger.WriteMemory(input + 3, [40]);
        debugger.Continue();
        Assert.Equal(40UL, debugger.Result);
        Assert.Equal(40, memory[3]);
    }

    [Fact]
    public void Bad_requests_are_debugger_errors()
    {
        using var compiled = DiagnosticPrograms.Observable("lddw r0, 0x100000000\nexit");
        using var debugger = new EbpfDebugger(compiled);
        Assert.Throws<EbpfDebuggerException>(() => debugger.Step());
        Assert.Throws<EbpfDebuggerException>(() => debugger.AddBreakpoint(1));
        Assert.Throws<EbpfDebuggerException>(() => debugger.AddBreakpoint(3));
        debugger.Start([]);
        Assert.Throws<EbpfDebuggerException>(() => debugger.Start([]));
        Assert.Throws<EbpfDebuggerException>(() => debugger.ReadMemory(0, 4));
        Assert.Throws<EbpfDebuggerException>(() => debugger.WriteMemory(debugger.GetRegister(10), [1]));
        Assert.Throws<EbpfDebuggerException>(() => debugger.SetRegister(11, 0));
        debugger.Continue();
        Assert.Equal(0x100000000UL, debugger.Result);
        Assert.Throws<EbpfDebuggerException>(() => debugger.Step());
        Assert.Throws<EbpfDebuggerException>(() => debugger.ReadMemory(0, 1));
    }

    [Fact]
    public void A_failing_run_reports_its_error()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.ReadInput);
        using var debugger = new EbpfDebugger(compiled);
        debugger.Start([]);
        Assert.Equal(DebugState.Failed, debugger.Continue());
        Assert.Equal(1, Assert.IsType<EbpfMemoryAccessException>(debugger.Error).Pc);
        Assert.Null(debugger.Result);
    }

    [Fact]
    public void Disposing_a_paused_session_ends_the_run()
    {
        using var compiled = DiagnosticPrograms.Observable(DiagnosticPrograms.Loop);
        var debugger = new EbpfDebugger(compiled);
        debugger.Start([]);
        debugger.Step();
        debugger.Dispose();
        Assert.Equal(DebugState.Abandoned, debugger.State);
        Assert.Null(debugger.Error);
        Assert.Throws<ObjectDisposedException>(() => debugger.Step());
    }
}
