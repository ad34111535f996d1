using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Abi;

/// <summary>The System V AMD64 calling convention (Linux): arguments in rdi, rsi; rbx, rbp, r12-r15 preserved.</summary>
internal sealed class SystemVAbi : INativeAbi
{
    /// <summary>The one instance.</summary>
    public static SystemVAbi Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "System V AMD64";

    /// <inheritdoc />
    public void EmitPrologue(Assembler assembler)
    {
        // Entered with rsp = 8 (mod 16); six pushes keep it 8 (mod 16).
        assembler.push(rbx);
        assembler.push(rbp);
        assembler.push(r12);
        assembler.push(r13);
        assembler.push(r14);
        assembler.push(r15);
        assembler.mov(r12, rdi);
    }

    /// <inheritdoc />
    public void EmitEpilogue(Assembler assembler)
    {
        assembler.pop(r15);
        assembler.pop(r14);
        assembler.pop(r13);
        assembler.pop(r12);
        assembler.pop(rbp);
        assembler.pop(rbx);
        assembler.ret();
    }

    /// <inheritdoc />
    public void EmitDispatcherCall(Assembler assembler, ulong function, int site)
    {
        assembler.mov(rdi, r12);
        assembler.mov(esi, site);
        assembler.mov(r11, function);
        assembler.call(r11);
    }
}
