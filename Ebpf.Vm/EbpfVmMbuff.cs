namespace Ebpf.Vm;

/// <summary>
/// rbpf's <c>EbpfVmMbuff</c> (the kernel's model): the program receives a metadata buffer (r1 = its address, r2 = its
/// length) that the caller fills, typically with the addresses of the packet's start and end; the packet is also
/// reachable (and is what legacy packet loads read).
/// </summary>
public sealed class EbpfVmMbuff : EbpfVm
{
    /// <summary>Creates the VM, loading <paramref name="program"/> when it is not null.</summary>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    public EbpfVmMbuff(byte[]? program, IExecutionEngine? jitEngine = null, ExecutionOptions? options = null)
        : base(program, jitEngine, options)
    {
    }

    /// <summary>Loads another program, checked by the VM's verifier.</summary>
    public void SetProgram(byte[] program) => Load(program);

    /// <summary>Interprets the program with the packet <paramref name="memory"/> and the metadata buffer <paramref name="mbuff"/>; returns r0.</summary>
    /// <exception cref="EbpfRuntimeException">The run failed.</exception>
    public ulong ExecuteProgram(Span<byte> memory, Span<byte> mbuff) => Interpreted().Run(memory, mbuff);

    /// <summary>Runs the JIT-compiled program with the packet and the metadata buffer; returns r0.</summary>
    public ulong ExecuteProgramJit(Span<byte> memory, Span<byte> mbuff) => Jitted().Run(memory, mbuff);
}
