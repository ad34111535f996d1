namespace Ebpf.Vm;

/// <summary>rbpf's <c>EbpfVmNoData</c>: programs that take no memory (r1 = r2 = 0).</summary>
public sealed class EbpfVmNoData : EbpfVm
{
    /// <summary>Creates the VM, loading <paramref name="program"/> when it is not null.</summary>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    public EbpfVmNoData(byte[]? program, IExecutionEngine? jitEngine = null, ExecutionOptions? options = null)
        : base(program, jitEngine, options)
    {
    }

    /// <summary>Loads another program, checked by the VM's verifier.</summary>
    public void SetProgram(byte[] program) => Load(program);

    /// <summary>Interprets the program; returns r0.</summary>
    /// <exception cref="EbpfRuntimeException">The run failed.</exception>
    public ulong ExecuteProgram() => Interpreted().Run();

    /// <summary>Runs the JIT-compiled program; returns r0.</summary>
    public ulong ExecuteProgramJit() => Jitted().Run();
}
