using Ebpf.Interpreter;
using Ebpf.Isa;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Interpreter;

public class InterpreterEngineTests
{
    [Fact]
    public void Engine_describes_itself()
    {
        var engine = new InterpreterEngine();
        Assert.Equal("interpreter", engine.Name);
        Assert.True(engine.IsAvailable);
        Assert.Null(engine.UnavailableReason);
        Assert.Equal(EngineCapabilities.Interpreted, engine.Capabilities);
    }

    [Fact]
    public void Checks_memory_even_when_the_options_turn_checks_off()
    {
        // ldxdw r0, [r1+0] with no memory: r1 = 0.
        var program = Program(I(OpCodes.LdxDW, 0, 1), I(OpCodes.Exit));
        using var compiled = new InterpreterEngine().Compile(program, null, new ExecutionOptions { MemoryChecks = false });
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(0, e.Pc);
        Assert.Equal(0UL, e.Address);
    }

    [Fact]
    public void Undefined_encodings_are_rejected_at_compile()
    {
        var engine = new InterpreterEngine();
        Assert.Throws<EbpfCompilationException>(() => engine.Compile(Program(I(OpCodes.Be, 0, 0, 0, 24), I(OpCodes.Exit))));
        Assert.Throws<EbpfCompilationException>(() => engine.Compile(Program(I(OpCodes.AtomicDW, 10, 1, -8, 0x02), I(OpCodes.Exit))));
        Assert.Throws<EbpfCompilationException>(() => engine.Compile(Program(I(OpCodes.Div64Imm, 0, 0, 2, 3), I(OpCodes.Exit))));
        Assert.Throws<EbpfCompilationException>(() => engine.Compile(Program(I(OpCodes.Mov64Reg, 0, 1, 4, 0), I(OpCodes.Exit))));
    }

    [Fact]
    public void A_disposed_program_refuses_to_run()
    {
        var compiled = new InterpreterEngine().Compile(Program(I(OpCodes.Mov64Imm, 0, 0, 0, 1), I(OpCodes.Exit)));
        Assert.Equal(1UL, compiled.Run());
        compiled.Dispose();
        Assert.Throws<ObjectDisposedException>(() => compiled.Run());
    }
}
