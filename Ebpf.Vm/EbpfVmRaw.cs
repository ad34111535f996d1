namespace Ebpf.Vm;

/// <summary>rbpf's <c>EbpfVmRaw</c> (uBPF's model): the program receives the packet itself (r1 = its address, r2 = its length).</summary>
public sealed class EbpfVmRaw : EbpfVm
{
    /// <summary>Creates the VM, loading <paramref name="program"/> when it is not null.</summary>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    public EbpfVmRaw(byte[]? program, IExecutionEngine? jitEngine = null, ExecutionOptions? options = null)
        : base(program, jitEngine, options)
    {
    }

    /// <summary>Loads another program, checked by the VM's verifier.</summary>
    public void SetProgram(byte[] program) => Load(program);

    /// <summary>Interprets the program on <paramref name="memory"/>; returns r0.</summary>
    /// <exception cref="EbpfRuntimeException">The run failed.</exception>
    public ulong ExecuteProgram(Span<byte> memory) => Interpreted().Run(memory);

    /// <summary>Runs the JIT-compiled program on <paramref name="memory"/>; returns r0.</summary>
    public ulong ExecuteProgramJit(Span<byte> memory) => Jitted().Run(memory);
}
